"""Importing an MDM's inventory file: its devices become devices of that source, and each
inventory is recorded as a state report of its device, judged exactly as an agent's.

All or nothing: the file is read whole first (:func:`appwarden.inventories.documents.read`),
and any device refused refuses the import, in the caller's transaction.

An MDM device does not run the agent, so it applies no policy version itself: the
organisation enforces the same rules through that MDM (see :mod:`appwarden.exports`). Its
inventory is recorded as having applied the device's current policy version, observed
when the MDM took it; a rule counts from its effective time or from that moment, so a rule
newer than the inventory is ``pending`` until a newer inventory shows the device.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from appwarden.audit.service import Acting, Entry, append_many
from appwarden.clock import Clock
from appwarden.compliance.devices import Verdict, verdicts
from appwarden.compliance.intake import Incoming, accept_many
from appwarden.compliance.wire import FullInventory, InstalledAppIn, StateReport
from appwarden.config import Settings
from appwarden.db import chunked
from appwarden.enforcement.changes import note_change
from appwarden.enforcement.service import current_version
from appwarden.errors import Conflict, DomainError, NotFound, TooLarge
from appwarden.fleet.models import Device, DeviceGroup, device_group_members
from appwarden.fleet.service import device_snapshot
from appwarden.inventories import names
from appwarden.inventories.documents import KINDS, InventoryError, Seen, read
from appwarden.inventories.models import DeviceInventory
from appwarden.inventories.names import Resolved

DEVICE_PREFIX = "dev_"
#: How far in the future an inventory's time may be (clocks differ a little).
SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Defaults:
    """What the importer says of devices whose document is silent (Apple MDM's responses
    carry no time, ownership or supervision; Intune may say ``unknown`` ownership)."""

    ownership: str = "corporate"
    supervised: bool = False
    taken_at: datetime | None = None  # None: the import's time


@dataclass(frozen=True)
class Imported:
    device_id: str
    external_id: str
    name: str | None
    created: bool
    taken_at: datetime
    apps: int
    unresolved: tuple[str, ...]
    compliance: Verdict


@dataclass(frozen=True)
class Skipped:
    external_id: str
    reason: str


@dataclass(frozen=True)
class Result:
    kind: str
    sha256: str
    imported_at: datetime
    devices: list[Imported]
    skipped: list[Skipped]


def _group(session: Session, name: str | None) -> DeviceGroup | None:
    if name is None:
        return None
    group = session.scalar(select(DeviceGroup).where(DeviceGroup.name == name))
    if group is None:
        raise NotFound(f"no device group named {name!r}")
    return group


def _held(session: Session, kind: str, devices: Sequence[Seen]) -> dict[str, DeviceInventory]:
    found: dict[str, DeviceInventory] = {}
    table = DeviceInventory
    for part in chunked([d.external_id for d in devices]):
        query = select(table).where(table.source == kind, table.external_id.in_(part))
        found.update((row.external_id, row) for row in session.scalars(query))
    return found


def _taken_at(seen: Seen, defaults: Defaults, now: datetime) -> datetime:
    taken = seen.taken_at or defaults.taken_at or now
    if taken > now + SKEW:
        raise InventoryError(f"{seen.where}: taken at {taken.isoformat()}, in the future")
    return min(taken, now)


@dataclass(frozen=True)
class _Facts:
    """A device's attributes as its MDM (or the importer's defaults) give them."""

    platform: str
    ownership: str
    supervised: bool
    user_name: str | None


def _facts(seen: Seen, defaults: Defaults, known: Device | None) -> _Facts:
    """What the document says; where it is silent, what a known device already has, or
    else the importer's defaults."""
    ownership = known.ownership if known else defaults.ownership
    supervised = known.supervised if known else defaults.supervised
    return _Facts(
        platform=seen.platform or "",
        ownership=seen.ownership or ownership,
        supervised=supervised if seen.supervised is None else seen.supervised,
        user_name=seen.user_name[:200] if seen.user_name else None,
    )


@dataclass
class _Plan:
    """The devices of one import, before their inventories are recorded."""

    devices: list[tuple[Seen, Device, bool, datetime]]  # seen, row, created, taken at
    skipped: list[Skipped]
    audit: list[Entry]


def _new_device(kind: str, facts: _Facts, now: datetime) -> Device:
    return Device(
        id=DEVICE_PREFIX + secrets.token_hex(10),
        department=None,
        state="active",
        public_key=None,
        enrolled_at=now,
        last_seen_at=None,
        source=kind,
        platform=facts.platform,
        ownership=facts.ownership,
        supervised=facts.supervised,
        user_name=facts.user_name,
    )


def _plan(
    session: Session,
    kind: str,
    seen: list[Seen],
    *,
    defaults: Defaults,
    actor: str,
    now: datetime,
) -> _Plan:
    held = _held(session, kind, seen)
    plan = _Plan([], [Skipped(s.external_id, s.skipped) for s in seen if s.skipped], [])
    for item in (s for s in seen if not s.skipped):
        taken = _taken_at(item, defaults, now)
        record = held.get(item.external_id)
        device = session.get(Device, record.device_id) if record else None
        facts = _facts(item, defaults, device)
        if record is not None and device is not None:
            if device.state == "retired":
                plan.skipped.append(Skipped(item.external_id, f"{device.id} is retired"))
                continue
            if record.taken_at > taken:
                raise Conflict(
                    f"{item.where}: this inventory (taken {taken.isoformat()}) is older than "
                    f"the one held for {device.id} (taken {record.taken_at.isoformat()})"
                )
            before = device_snapshot(device)
            device.platform, device.ownership = facts.platform, facts.ownership
            device.supervised, device.user_name = facts.supervised, facts.user_name
            if device_snapshot(device) != before:
                note_change(session, "device", device.id, now)
                plan.audit.append(_entry(actor, "device.update", device, kind, item, before))
            plan.devices.append((item, device, False, taken))
            continue
        device = _new_device(kind, facts, now)
        session.add(device)
        note_change(session, "device", device.id, now)
        plan.audit.append(_entry(actor, "device.import", device, kind, item, None))
        plan.devices.append((item, device, True, taken))
    return plan


def _entry(
    actor: str, action: str, device: Device, kind: str, seen: Seen, before: dict[str, object] | None
) -> Entry:
    return Entry(
        actor=actor,
        action=action,
        object_type="device",
        object_id=device.id,
        before=before,
        after=device_snapshot(device) | {"source": kind, "external_id": seen.external_id},
    )


def _join(
    session: Session, group: DeviceGroup | None, devices: Sequence[Device], now: datetime
) -> None:
    """Make every device a static member of ``group`` (those not yet in it)."""
    if group is None or not devices:
        return
    members: set[str] = set()
    table = device_group_members
    for part in chunked([d.id for d in devices]):
        query = select(table.c.device_id).where(
            table.c.group_id == group.id, table.c.device_id.in_(part)
        )
        members.update(session.scalars(query))
    new = [d.id for d in devices if d.id not in members]
    if new:
        session.execute(table.insert(), [{"group_id": group.id, "device_id": i} for i in new])
        for device_id in new:
            note_change(session, "device", device_id, now)


def _report(device: Device, apps: list[str], taken: datetime, version: int) -> Incoming:
    inventory = FullInventory(kind="full", apps=[InstalledAppIn(app_id=a) for a in apps])
    body = json.dumps(
        {"apps": apps, "taken_at": taken.isoformat(), "version": version}, sort_keys=True
    ).encode()
    body_sha256 = hashlib.sha256(body).hexdigest()
    report = StateReport(
        report_id="inv_" + body_sha256[:60],
        applied_version=version,
        inventory=inventory,
        events=[],
    )
    return Incoming(device=device, report=report, body_sha256=body_sha256, observed_at=taken)


def _record(
    session: Session,
    plan: _Plan,
    resolved: Resolved,
    *,
    now: datetime,
    settings: Settings,
) -> None:
    """Each inventory as its device's state report, through the agents' intake: the
    device's current policy version applied, observed when the MDM took it."""
    items = []
    for seen, device, _created, taken in plan.devices:
        version = current_version(session, device, now=now).version
        items.append(_report(device, resolved[seen.external_id][0], taken, version))
    outcomes = accept_many(session, items, now=now, settings=settings)
    for (seen, *_rest), outcome in zip(plan.devices, outcomes, strict=True):
        if isinstance(outcome, DomainError):
            raise type(outcome)(f"{seen.where}: {outcome.detail}")


def _summary(actor: str, kind: str, sha256: str, plan: _Plan) -> Entry:
    return Entry(
        actor=actor,
        action="inventory.import",
        object_type="inventory",
        object_id=kind,
        after={
            "sha256": sha256,
            "devices": len(plan.devices),
            "created": sum(1 for d in plan.devices if d[2]),
            "skipped": len(plan.skipped),
        },
    )


def import_inventory(
    session: Session,
    *,
    clock: Clock,
    acting: Acting,
    settings: Settings,
    kind: str,
    data: bytes,
    group: str | None = None,
    defaults: Defaults | None = None,
) -> Result:
    """Import an inventory file of ``kind`` (see :data:`KINDS`), in the caller's
    transaction: new devices are created (static members of ``group``, if given), known
    ones updated, and every inventory judged. Refused whole on any bad item."""
    if len(data) > settings.inventory_max_bytes:
        raise TooLarge(f"the file is larger than {settings.inventory_max_bytes} bytes")
    defaults = defaults or Defaults()
    if defaults.taken_at is not None and defaults.taken_at.tzinfo is None:
        raise InventoryError("taken_at needs a time zone offset (e.g. Z)")
    seen = read(kind, data)
    now = clock.now()
    resolved = names.app_ids(session, [s for s in seen if not s.skipped])
    target = _group(session, group)
    plan = _plan(session, kind, seen, defaults=defaults, actor=acting.actor, now=now)
    session.flush()
    _join(session, target, [device for _s, device, _c, _t in plan.devices], now)
    _record(session, plan, resolved, now=now, settings=settings)
    sha256 = hashlib.sha256(data).hexdigest()
    _remember(session, kind, plan, resolved, actor=acting.actor, now=now)
    try:
        session.flush()
    except IntegrityError:
        # Another import created the same MDM devices meanwhile (PostgreSQL waits for it,
        # then refuses the duplicate): nothing of this one is kept.
        raise Conflict(
            "another import of the same devices ran at the same time; import the file again"
        ) from None
    plan.audit.append(_summary(acting.actor, kind, sha256, plan))
    append_many(session, key=acting.audit_key, clock=clock, entries=plan.audit)
    found = verdicts(session, [d.id for _s, d, _c, _t in plan.devices])
    devices = [
        Imported(
            device_id=device.id,
            external_id=item.external_id,
            name=item.name,
            created=created,
            taken_at=taken,
            apps=len(resolved[item.external_id][0]),
            unresolved=tuple(resolved[item.external_id][1]),
            compliance=found[device.id],
        )
        for item, device, created, taken in plan.devices
    ]
    return Result(kind, sha256, now, devices, plan.skipped)


def _remember(
    session: Session,
    kind: str,
    plan: _Plan,
    resolved: Resolved,
    *,
    actor: str,
    now: datetime,
) -> None:
    held = {
        row.device_id: row
        for part in chunked([d.id for _s, d, _c, _t in plan.devices])
        for row in session.scalars(
            select(DeviceInventory).where(DeviceInventory.device_id.in_(part))
        )
    }
    for item, device, _created, taken in plan.devices:
        values = {
            "source": kind,
            "external_id": item.external_id,
            "name": item.name[:200] if item.name else None,
            "taken_at": taken,
            "imported_at": now,
            "imported_by": actor[:64],
            "unresolved": resolved[item.external_id][1],
        }
        row = held.get(device.id)
        if row is None:
            session.add(DeviceInventory(device_id=device.id, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)


__all__ = ["KINDS", "Defaults", "Imported", "Result", "Skipped", "import_inventory"]
