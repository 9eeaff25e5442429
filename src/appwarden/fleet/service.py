"""Device groups and devices: plain functions over a session the caller owns.

Every change appends an audit event in the same transaction. A group's members are its
static members (added by hand or by enrollment) plus every device its rule matches; rule
matches are computed when asked, never stored, so a device whose attributes change moves
between groups by itself. Enrollment is in :mod:`appwarden.fleet.enrollment`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from appwarden.audit.service import Acting, record
from appwarden.clock import Clock
from appwarden.decisions.models import Determination
from appwarden.enforcement.changes import note_change, note_devices
from appwarden.errors import Conflict, Invalid, InvalidTransition, NotFound
from appwarden.fleet.membership import rule_clause
from appwarden.fleet.models import Device, DeviceGroup, EnrollmentToken, device_group_members

#: Determinations use this scope for "every managed device"; no group may be called so.
EVERY_DEVICE = "*"
_LIVE = ("draft", "proposed", "notice", "in_force")
_UNCHANGED: Any = object()


# --------------------------------------------------------------------- groups


def group_snapshot(group: DeviceGroup) -> dict[str, Any]:
    return {"name": group.name, "description": group.description, "rule": group.rule}


def get_group(session: Session, *, group_id: int) -> DeviceGroup:
    group = session.get(DeviceGroup, group_id)
    if group is None:
        raise NotFound(f"no device group {group_id}")
    return group


def _clean_name(session: Session, name: str, *, other_than: int | None = None) -> str:
    clean = " ".join(name.split())
    if clean == EVERY_DEVICE or not clean:
        raise Invalid(f'"{EVERY_DEVICE}" means every device in a determination; pick another name')
    # SQLite's lower() folds ASCII only: the exact name is compared too, so a name the
    # unique constraint would refuse is a 409 here, never an IntegrityError (a 500).
    query = select(DeviceGroup.id).where(
        (func.lower(DeviceGroup.name) == clean.lower()) | (DeviceGroup.name == clean)
    )
    if other_than is not None:
        query = query.where(DeviceGroup.id != other_than)
    if session.scalar(query) is not None:
        raise Conflict(f"a device group named {clean!r} already exists")
    return clean


def _referencing(session: Session, name: str) -> list[int]:
    """Live determinations whose scope names the group (renaming or deleting it would
    silently change what they cover)."""
    rows = session.execute(
        select(Determination.id, Determination.scope).where(Determination.status.in_(_LIVE))
    )
    return sorted(i for i, scope in rows if name in (scope or []))


def _note_members(session: Session, group: DeviceGroup, clock: Clock) -> None:
    """The group's members now (static and by rule), as policy changes: what they were
    before an edit or a delete, which the outbox could not know afterwards."""
    static = select(device_group_members.c.device_id).where(
        device_group_members.c.group_id == group.id
    )
    note_devices(session, static, clock.now())
    if group.rule:
        note_devices(session, select(Device.id).where(rule_clause(group.rule)), clock.now())


def create_group(
    session: Session,
    *,
    clock: Clock,
    acting: Acting,
    name: str,
    description: str = "",
    rule: dict[str, Any] | None = None,
) -> DeviceGroup:
    """A new group, optionally with an attribute rule."""
    now = clock.now()
    group = DeviceGroup(
        name=_clean_name(session, name),
        description=description.strip(),
        rule=rule or None,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    session.flush()
    note_change(session, "group", group.id, now)  # a determination may name it already
    record(
        session,
        clock=clock,
        acting=acting,
        action="group.create",
        object_type="device_group",
        object_id=group.id,
        after=group_snapshot(group),
    )
    return group


def update_group(
    session: Session,
    *,
    clock: Clock,
    acting: Acting,
    group_id: int,
    name: str | None = None,
    description: str | None = None,
    rule: dict[str, Any] | None = _UNCHANGED,
) -> DeviceGroup:
    """Rename a group, describe it, or change its rule (``rule=None`` removes it). A group
    named by a live determination keeps its name (409)."""
    group = get_group(session, group_id=group_id)
    before = group_snapshot(group)
    old_rule = group.rule
    if name is not None and name.strip() != group.name:
        clean = _clean_name(session, name, other_than=group.id)
        used = _referencing(session, group.name)
        if used:
            raise Conflict(
                f"determinations {used} name the group {group.name!r}; renaming it would "
                "change what they cover"
            )
        group.name = clean
    if description is not None:
        group.description = description.strip()
    if rule is not _UNCHANGED:
        group.rule = rule or None
    after = group_snapshot(group)
    if after != before:
        group.updated_at = clock.now()
        if group.rule != old_rule:  # the devices the old rule matched may leave the group
            note_devices(session, select(Device.id).where(rule_clause(old_rule)), clock.now())
        note_change(session, "group", group.id, clock.now())  # its members after the edit
        session.flush()
        record(
            session,
            clock=clock,
            acting=acting,
            action="group.update",
            object_type="device_group",
            object_id=group.id,
            before=before,
            after=after,
        )
    return group


def delete_group(session: Session, *, clock: Clock, acting: Acting, group_id: int) -> None:
    """Delete a group with its memberships and enrollment tokens; refused (409) while a
    live determination names it."""
    group = get_group(session, group_id=group_id)
    used = _referencing(session, group.name)
    if used:
        raise Conflict(f"determinations {used} name the group {group.name!r}; it stays")
    before = group_snapshot(group) | {"static_members": static_member_ids(session, group.id)}
    _note_members(session, group, clock)
    session.execute(delete(device_group_members).where(device_group_members.c.group_id == group.id))
    session.execute(delete(EnrollmentToken).where(EnrollmentToken.group_id == group.id))
    session.delete(group)
    session.flush()
    record(
        session,
        clock=clock,
        acting=acting,
        action="group.delete",
        object_type="device_group",
        object_id=group_id,
        before=before,
    )


def groups_query() -> Select[DeviceGroup]:
    return select(DeviceGroup).order_by(DeviceGroup.id)


def static_member_ids(session: Session, group_id: int) -> list[str]:
    query = select(device_group_members.c.device_id).where(
        device_group_members.c.group_id == group_id
    )
    return sorted(session.scalars(query))


def count_static_members(session: Session, group_id: int) -> int:
    query = select(func.count()).where(device_group_members.c.group_id == group_id)
    return int(session.scalar(query) or 0)


def is_member(session: Session, group_id: int, device_id: str) -> bool:
    query = select(device_group_members.c.device_id).where(
        device_group_members.c.group_id == group_id, device_group_members.c.device_id == device_id
    )
    return session.scalar(query) is not None


def add_member(
    session: Session, *, clock: Clock, acting: Acting, group_id: int, device_id: str
) -> DeviceGroup:
    """Put a device into a group by hand."""
    group = get_group(session, group_id=group_id)
    device = get_device(session, device_id=device_id)
    if is_member(session, group.id, device.id):
        raise Conflict(f"device {device.id} is already a static member of {group.name!r}")
    session.execute(device_group_members.insert().values(group_id=group.id, device_id=device.id))
    note_change(session, "device", device.id, clock.now())
    record(
        session,
        clock=clock,
        acting=acting,
        action="group.member_add",
        object_type="device_group",
        object_id=group.id,
        after={"device_id": device.id},
    )
    return group


def remove_member(
    session: Session, *, clock: Clock, acting: Acting, group_id: int, device_id: str
) -> DeviceGroup:
    """Take a device out of a group's static members (a rule may still match it)."""
    group = get_group(session, group_id=group_id)
    if not is_member(session, group.id, device_id):
        raise NotFound(f"device {device_id} is not a static member of {group.name!r}")
    session.execute(
        delete(device_group_members).where(
            device_group_members.c.group_id == group.id,
            device_group_members.c.device_id == device_id,
        )
    )
    note_change(session, "device", device_id, clock.now())
    record(
        session,
        clock=clock,
        acting=acting,
        action="group.member_remove",
        object_type="device_group",
        object_id=group.id,
        before={"device_id": device_id},
    )
    return group


# -------------------------------------------------------------------- devices


def device_snapshot(device: Device) -> dict[str, Any]:
    return {
        "platform": device.platform,
        "ownership": device.ownership,
        "department": device.department,
        "user_name": device.user_name,
        "supervised": device.supervised,
        "state": device.state,
        "public_key": device.public_key,
    }


def get_device(session: Session, *, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id}")
    return device


def devices_query(
    session: Session,
    *,
    group_id: int | None = None,
    platform: str | None = None,
    ownership: str | None = None,
    state: str | None = None,
    source: str | None = None,
) -> Select[Device]:
    """Devices by enrollment time; ``group_id`` counts static members and rule matches."""
    query = select(Device).order_by(Device.enrolled_at, Device.id)
    if group_id is not None:
        group = get_group(session, group_id=group_id)
        static = exists().where(
            device_group_members.c.group_id == group.id,
            device_group_members.c.device_id == Device.id,
        )
        query = query.where(or_(static, rule_clause(group.rule)))
    if platform:
        query = query.where(Device.platform == platform)
    if ownership:
        query = query.where(Device.ownership == ownership)
    if state:
        query = query.where(Device.state == state)
    if source:
        query = query.where(Device.source == source)
    return query


def _lifecycle(
    session: Session,
    *,
    clock: Clock,
    acting: Acting,
    device_id: str,
    action: str,
    allowed_from: tuple[str, ...],
    state: str | None = None,
    clear_key: bool = False,
) -> Device:
    device = get_device(session, device_id=device_id)
    if device.state not in allowed_from:
        raise InvalidTransition(f"cannot {action} device {device.id}: it is {device.state}")
    before = device_snapshot(device)
    if state is not None:
        device.state = state
    if clear_key:
        if device.public_key is None:
            raise InvalidTransition(f"device {device.id} has no key to revoke")
        device.public_key = None
    note_change(session, "device", device.id, clock.now())
    session.flush()
    record(
        session,
        clock=clock,
        acting=acting,
        action=f"device.{action.replace(' ', '_')}",
        object_type="device",
        object_id=device.id,
        before=before,
        after=device_snapshot(device),
    )
    return device


def retire(session: Session, *, clock: Clock, acting: Acting, device_id: str) -> Device:
    """Take a device out of management for good (the device protocol refuses it)."""
    return _lifecycle(
        session,
        clock=clock,
        acting=acting,
        device_id=device_id,
        action="retire",
        allowed_from=("active", "lost"),
        state="retired",
    )


def report_lost(session: Session, *, clock: Clock, acting: Acting, device_id: str) -> Device:
    """Mark a device lost (or stolen); revoke its key too if it must not check in."""
    return _lifecycle(
        session,
        clock=clock,
        acting=acting,
        device_id=device_id,
        action="report lost",
        allowed_from=("active",),
        state="lost",
    )


def revoke_key(session: Session, *, clock: Clock, acting: Acting, device_id: str) -> Device:
    """Forget the device's public key: it cannot sign requests until it re-enrolls."""
    return _lifecycle(
        session,
        clock=clock,
        acting=acting,
        device_id=device_id,
        action="revoke key",
        allowed_from=("active", "lost", "retired"),
        clear_key=True,
    )
