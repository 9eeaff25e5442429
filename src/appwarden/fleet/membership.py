"""Which groups a device is in: static memberships and attribute rules (one test, in
Python for one device and in SQL for listing), and the device as the policy compiler
sees it (one device, or many in a few queries)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, and_, false, func, select
from sqlalchemy.orm import Session

from appwarden.fleet.models import Device, DeviceGroup, device_group_members
from appwarden.policy.model import DeviceInput


class DeviceFacts(Protocol):
    """What group rules and the policy compiler read of a device (a row will do)."""

    @property
    def id(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def ownership(self) -> str: ...
    @property
    def department(self) -> str | None: ...
    @property
    def user_name(self) -> str | None: ...
    @property
    def supervised(self) -> bool: ...


#: The columns of :class:`DeviceFacts`, to read devices as rows (no ORM objects).
FACTS = (
    Device.id,
    Device.platform,
    Device.ownership,
    Device.department,
    Device.user_name,
    Device.supervised,
)


def rule_matches(rule: dict[str, Any] | None, device: DeviceFacts) -> bool:
    """Whether ``device`` meets every condition of ``rule`` (no rule: no match)."""
    if not rule:
        return False
    return all(_meets(device, key, value) for key, value in rule.items())


def matcher(rule: dict[str, Any] | None) -> Callable[[DeviceFacts], bool]:
    """:func:`rule_matches` with ``rule`` prepared once, to test many devices."""
    if not rule:
        return lambda _device: False
    prepared = {
        key: {v.lower() for v in value} if key == "department" else value
        for key, value in rule.items()
    }

    def test(device: DeviceFacts) -> bool:
        for key, value in prepared.items():
            if key == "department":
                if (device.department or "").lower() not in value:
                    return False
            elif not _meets(device, key, value):
                return False
        return True

    return test


def _meets(device: DeviceFacts, key: str, value: Any) -> bool:
    if key == "platform":
        return device.platform in value
    if key == "ownership":
        return device.ownership in value
    if key == "department":
        return (device.department or "").lower() in {v.lower() for v in value}
    if key == "supervised":
        return device.supervised is bool(value)
    return False  # an unknown condition matches nothing rather than everything


def rule_clause(rule: dict[str, Any] | None) -> ColumnElement[bool]:
    """The same test as :func:`rule_matches`, as SQL over ``devices``."""
    if not rule:
        return false()
    clauses: list[ColumnElement[bool]] = []
    if "platform" in rule:
        clauses.append(Device.platform.in_(rule["platform"]))
    if "ownership" in rule:
        clauses.append(Device.ownership.in_(rule["ownership"]))
    if "department" in rule:
        clauses.append(func.lower(Device.department).in_([v.lower() for v in rule["department"]]))
    if "supervised" in rule:
        clauses.append(Device.supervised.is_(bool(rule["supervised"])))
    return and_(*clauses)


def groups_of(session: Session, device: Device) -> list[DeviceGroup]:
    """Every group the device is in: static memberships ∪ rule matches, by name."""
    static = set(
        session.scalars(
            select(device_group_members.c.group_id).where(
                device_group_members.c.device_id == device.id
            )
        )
    )
    groups = session.scalars(
        select(DeviceGroup).where(DeviceGroup.id.in_(static) | DeviceGroup.rule.is_not(None))
    )
    found = [g for g in groups if g.id in static or rule_matches(g.rule, device)]
    return sorted(found, key=lambda g: g.name)


def device_input(session: Session, device: Device) -> DeviceInput:
    """What the policy compiler needs to know about a device."""
    return DeviceInput(
        device_id=device.id,
        platform=device.platform,
        ownership=device.ownership,
        supervised=device.supervised,
        user=device.user_name,
        groups=[g.name for g in groups_of(session, device)],
    )


#: Device ids per ``IN (...)`` list: well below SQLite's limit on bound parameters.
CHUNK = 5000


_T = TypeVar("_T")


def chunks(ids: Sequence[_T], size: int = CHUNK) -> list[Sequence[_T]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def device_inputs(session: Session, devices: Sequence[DeviceFacts]) -> dict[str, DeviceInput]:
    """:func:`device_input` for many devices: every group and the devices' static
    memberships in a few queries, rule groups evaluated in Python. Keyed by device id."""
    groups = session.execute(select(DeviceGroup.id, DeviceGroup.name, DeviceGroup.rule)).all()
    names = {row.id: row.name for row in groups}
    rules = [(row.name, matcher(row.rule)) for row in groups if row.rule]
    static: dict[str, list[str]] = {d.id: [] for d in devices}
    members = select(device_group_members.c.device_id, device_group_members.c.group_id)
    if len(devices) > CHUNK:  # much of the fleet: read every membership once
        batches = [session.execute(members).all()]
    else:
        ids = [d.id for d in devices]
        batches = [
            session.execute(members.where(device_group_members.c.device_id.in_(part))).all()
            for part in chunks(ids)
        ]
    for batch in batches:
        for device_id, group_id in batch:
            if device_id in static:
                static[device_id].append(names[group_id])
    return {
        d.id: DeviceInput(
            device_id=d.id,
            platform=d.platform,
            ownership=d.ownership,
            supervised=d.supervised,
            user=d.user_name,
            groups=static[d.id] + [name for name, test in rules if test(d)],
        )
        for d in devices
    }
