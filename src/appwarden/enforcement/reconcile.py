"""Recompile only what changed: the outbox's unprocessed rows (and the clock) → the devices
they affect → their policies, compiled once per distinct inputs, new versions where the
content changed.

What each kind of change affects:

- ``determination``: the devices in its scope (its groups, or every device for ``*``),
  narrowed to its platform if it has one;
- ``waiver``: the devices it names and the devices of the users it names;
- ``group``: its members (static and by rule) after the change; the members before an
  edit or a delete are written as ``device`` changes by the fleet service;
- ``device``: that device;
- ``catalog`` (a publisher's affiliates or domains, an app's publisher): the devices in
  scope of every publisher determination in force.

Devices whose ``next_change_at`` has passed are recompiled too; retired devices never are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, or_, select, update
from sqlalchemy.orm import Session

from appwarden.decisions.lifecycle import Status
from appwarden.decisions.models import Determination
from appwarden.enforcement.models import DevicePolicyVersion, PolicyChange
from appwarden.enforcement.versions import generation, issue, lock
from appwarden.fleet.membership import CHUNK, FACTS, DeviceFacts, chunks, rule_clause
from appwarden.fleet.models import Device, DeviceGroup, device_group_members
from appwarden.waivers.models import Waiver

#: Outbox rows taken in one transaction.
BATCH = 2000
EVERY_DEVICE = "*"


@dataclass(frozen=True)
class ReconcileResult:
    """One batch: outbox rows processed, documents compiled (one per distinct inputs),
    devices whose version grew or was first issued, and the policy generation after it."""

    changes: int
    documents_compiled: int
    devices_changed: int
    generation: int
    device_ids: tuple[str, ...] = ()


def pending(session: Session) -> bool:
    """Whether some change waits in the outbox."""
    query = select(PolicyChange.id).where(PolicyChange.processed_at.is_(None)).limit(1)
    return session.scalar(query) is not None


def _members(session: Session, group_ids: list[int], rules: Iterable[Any]) -> list[Any]:
    static = exists().where(
        device_group_members.c.group_id.in_(group_ids),
        device_group_members.c.device_id == Device.id,
    )
    return [static, *(rule_clause(rule) for rule in rules if rule)]


def _in_scope(session: Session, determination: Determination) -> Select[Any]:
    query = select(Device.id)
    if determination.platform is not None:
        query = query.where(Device.platform == determination.platform)
    scope = list(determination.scope or [])
    if EVERY_DEVICE in scope:
        return query
    groups = session.execute(
        select(DeviceGroup.id, DeviceGroup.rule).where(DeviceGroup.name.in_(scope))
    ).all()
    return query.where(or_(*_members(session, [g.id for g in groups], [g.rule for g in groups])))


def _affected(session: Session, refs: dict[str, set[str]], now: datetime) -> set[str]:
    """The ids of the devices whose policy the changes in ``refs`` may alter."""
    ids: set[str] = set(refs.get("device", ()))
    determinations: list[Determination] = []
    numbers = [int(r) for r in refs.get("determination", ()) if r.isdigit()]
    if numbers:
        determinations += session.scalars(
            select(Determination).where(Determination.id.in_(numbers))
        ).all()
    if refs.get("catalog"):
        determinations += session.scalars(
            select(Determination).where(
                Determination.target_kind == "publisher",
                Determination.status == Status.in_force.value,
            )
        ).all()
    for determination in {d.id: d for d in determinations}.values():
        ids.update(session.scalars(_in_scope(session, determination)))
    waiver_ids = [int(r) for r in refs.get("waiver", ()) if r.isdigit()]
    for waiver in session.scalars(select(Waiver).where(Waiver.id.in_(waiver_ids))):
        ids.update(waiver.devices)
        if waiver.users:
            users = select(Device.id).where(Device.user_name.in_(list(waiver.users)))
            ids.update(session.scalars(users))
    group_ids = [int(r) for r in refs.get("group", ()) if r.isdigit()]
    for group in session.scalars(select(DeviceGroup).where(DeviceGroup.id.in_(group_ids))):
        members = select(Device.id).where(or_(*_members(session, [group.id], [group.rule])))
        ids.update(session.scalars(members))
    return ids


def _due(session: Session, now: datetime, *, sweep: bool) -> set[str]:
    """Devices the clock alone changes now; with ``sweep``, devices never issued a policy."""
    due = select(DevicePolicyVersion.device_id).where(DevicePolicyVersion.next_change_at <= now)
    ids = set(session.scalars(due))
    if sweep:
        never = select(Device.id).where(
            Device.state != "retired",
            ~exists().where(DevicePolicyVersion.device_id == Device.id),
        )
        ids.update(session.scalars(never))
    return ids


def _load(session: Session, ids: set[str]) -> list[DeviceFacts]:
    """The devices of ``ids`` that are not retired, as rows, in few queries."""
    live = select(*FACTS).where(Device.state != "retired").order_by(Device.id)
    if len(ids) > CHUNK:  # much of the fleet: read it whole and filter here
        return [d for d in session.execute(live) if d.id in ids]
    found: list[DeviceFacts] = []
    for part in chunks(sorted(ids)):
        found += session.execute(live.where(Device.id.in_(part)))
    return found


def reconcile(
    session: Session, now: datetime, *, sweep: bool = False, limit: int = BATCH
) -> ReconcileResult:
    """Process up to ``limit`` outbox rows and the devices due by the clock, in the
    caller's transaction (which holds the issuing lock until it ends). ``sweep`` also
    issues a first policy to every device that has none (at start-up)."""
    lock(session)
    rows = session.execute(
        select(PolicyChange.id, PolicyChange.kind, PolicyChange.ref)
        .where(PolicyChange.processed_at.is_(None))
        .order_by(PolicyChange.id)
        .limit(limit)
    ).all()
    refs: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        refs[row.kind].add(row.ref or "")
    ids = _affected(session, refs, now) | _due(session, now, sweep=sweep)
    devices = _load(session, ids) if ids else []
    issued = issue(session, devices, now=now) if devices else None
    for part in chunks([row.id for row in rows]):
        session.execute(
            update(PolicyChange).where(PolicyChange.id.in_(part)).values(processed_at=now),
            execution_options={"synchronize_session": False},
        )
    if issued is None:
        return ReconcileResult(len(rows), 0, 0, generation(session))
    return ReconcileResult(
        changes=len(rows),
        documents_compiled=issued.documents_compiled,
        devices_changed=len(issued.changed),
        generation=issued.generation if issued.generation is not None else generation(session),
        device_ids=issued.changed,
    )
