"""Replay the append-only compliance history to a report as of a moment.

Each device's status for a determination at a moment is its last history row at or before
it (``not_applicable``: out of scope). Retired devices are left out, as they are of the
counts now and of the trend. The determinations' own facts (title, deadline, …) are as
they are now; only the devices' statuses and waivers are read as of the date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from appwarden.compliance.models import (
    NOT_APPLICABLE,
    STATUSES,
    ComplianceHistory,
    DeviceEvent,
)
from appwarden.compliance_report import schemas
from appwarden.compliance_report.deadlines import device_deadline, overall
from appwarden.decisions import service as decisions
from appwarden.decisions.models import Determination
from appwarden.errors import Invalid
from appwarden.fleet.models import Device
from appwarden.waivers.models import Waiver

#: (determination id, device id) → (status, since)
Statuses = dict[tuple[int, str], tuple[str, datetime]]


class BeforeAnyData(Invalid):
    """The date is earlier than the first compliance record: there is nothing to replay."""


def statuses_at(session: Session, moment: datetime, determination_id: int | None) -> Statuses:
    """Each live device's status per determination at ``moment`` (in scope only)."""
    latest = (
        select(func.max(ComplianceHistory.id))
        .where(ComplianceHistory.at <= moment)
        .group_by(ComplianceHistory.determination_id, ComplianceHistory.device_id)
    )
    if determination_id is not None:
        latest = latest.where(ComplianceHistory.determination_id == determination_id)
    rows = session.execute(
        select(
            ComplianceHistory.determination_id,
            ComplianceHistory.device_id,
            ComplianceHistory.status,
            ComplianceHistory.at,
        )
        .join(Device, Device.id == ComplianceHistory.device_id)
        .where(ComplianceHistory.id.in_(latest), Device.state != "retired")
    )
    return {(int(d), str(v)): (str(s), t) for d, v, s, t in rows if s != NOT_APPLICABLE}


def first_record(session: Session, determination_id: int | None) -> datetime | None:
    query = select(func.min(ComplianceHistory.at))
    if determination_id is not None:
        query = query.where(ComplianceHistory.determination_id == determination_id)
    found: datetime | None = session.scalar(query)
    return found


def _held_before(session: Session, moment: datetime, ids: list[int]) -> set[tuple[int, str]]:
    """(determination, device) pairs that were ``non_compliant`` at some time ≤ ``moment``."""
    rows = session.execute(
        select(ComplianceHistory.determination_id, ComplianceHistory.device_id)
        .where(ComplianceHistory.determination_id.in_(ids))
        .where(ComplianceHistory.status == "non_compliant", ComplianceHistory.at <= moment)
        .distinct()
    )
    return {(int(d), str(v)) for d, v in rows}


def _removal_events(session: Session, moment: datetime, ids: list[int]) -> set[tuple[int, str]]:
    """(determination, device) pairs with a ``removed`` event the server had by ``moment``."""
    rows = session.execute(
        select(DeviceEvent.rule, DeviceEvent.device_id)
        .where(DeviceEvent.kind == "removed", DeviceEvent.rule.in_(ids))
        .where(DeviceEvent.received_at <= moment)
        .distinct()
    )
    return {(r, str(d)) for r, d in rows if r is not None}


def _waivers(session: Session, moment: datetime, ids: list[int]) -> dict[int, list[Waiver]]:
    """Per determination, the waivers approved and neither revoked nor expired at ``moment``."""
    rows = session.scalars(
        select(Waiver)
        .where(Waiver.determination_id.in_(ids), Waiver.approved_at.is_not(None))
        .where(Waiver.approved_at <= moment, Waiver.expires_at > moment)
        .where(or_(Waiver.revoked_at.is_(None), Waiver.revoked_at > moment))
        .order_by(Waiver.id)
    )
    found: dict[int, list[Waiver]] = defaultdict(list)
    for waiver in rows:
        found[waiver.determination_id].append(waiver)
    return found


def _covering(waivers: Iterable[Waiver], device: Device) -> list[schemas.WaiverNote]:
    return [
        schemas.WaiverNote(
            waiver_id=w.id, reason=w.reason, expires_at=w.expires_at, mitigations=w.mitigations
        )
        for w in waivers
        if device.id in w.devices or (device.user_name is not None and device.user_name in w.users)
    ]


@dataclass(frozen=True)
class _Facts:
    """What every determination's section reads, loaded once for the whole report."""

    as_of: datetime
    statuses: Statuses
    devices: dict[str, Device]
    held: set[tuple[int, str]]
    removals: set[tuple[int, str]]
    waivers: dict[int, list[Waiver]]


def _line(
    facts: _Facts, determination: Determination, device_id: str, at_deadline: Statuses | None
) -> schemas.DeviceLine:
    key = (determination.id, device_id)
    status, since = facts.statuses[key]
    device = facts.devices[device_id]
    removed = status == "compliant" and (key in facts.held or key in facts.removals)
    then = None if at_deadline is None else at_deadline.get(key, (None, since))[0]
    return schemas.DeviceLine(
        device_id=device_id,
        platform=device.platform,
        ownership=device.ownership,
        department=device.department,
        user_name=device.user_name,
        source=device.source,
        status=status,
        since=since,
        removed=removed,
        removed_at=since if removed else None,
        deadline=device_deadline(
            determination.removal_deadline,
            facts.as_of,
            in_scope=at_deadline is not None and key in at_deadline,
            status_then=then,
        ),
        status_at_deadline=then,
        waivers=_covering(facts.waivers.get(determination.id, []), device)
        if status == "exempt"
        else [],
    )


def _section(
    session: Session, facts: _Facts, determination: Determination
) -> schemas.DeterminationReport:
    deadline = determination.removal_deadline
    at_deadline = None
    if deadline is not None and deadline <= facts.as_of:
        at_deadline = statuses_at(session, deadline, determination.id)
    ids = sorted(v for d, v in facts.statuses if d == determination.id)
    lines = [_line(facts, determination, device_id, at_deadline) for device_id in ids]
    counts = dict.fromkeys(STATUSES, 0)
    for line in lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    judged = [device_deadline(deadline, facts.as_of, in_scope=True, status_then=status)
              for status, _since in (at_deadline or {}).values()]  # fmt: skip
    met, missed = judged.count("met"), judged.count("missed")
    return schemas.DeterminationReport(
        determination_id=determination.id,
        title=determination.title,
        action=determination.action,
        target_kind=determination.target_kind,
        target_value=determination.target_value,
        platform=determination.platform,
        scope=list(determination.scope or []),
        authority=determination.authority,
        instrument=determination.instrument,
        effective_at=determination.effective_at,
        removal_deadline=deadline,
        in_scope=len(lines),
        counts=counts,
        removed=sum(line.removed for line in lines),
        exempt_waivers=len({w.waiver_id for line in lines for w in line.waivers}),
        deadline=schemas.DeadlineSummary(
            removal_deadline=deadline,
            outcome=overall(deadline, facts.as_of, missed=missed),
            counted=met + missed,
            met=met,
            missed=missed,
        ),
        devices=lines,
    )


def _check_data(session: Session, as_of: datetime, determination_id: int | None) -> None:
    first = first_record(session, determination_id)
    what = "any determination" if determination_id is None else f"determination {determination_id}"
    if first is None:
        raise BeforeAnyData(f"no compliance has been recorded yet for {what}")
    if as_of < first:
        raise BeforeAnyData(
            f"as_of {as_of.isoformat()} is before the first compliance record for {what} "
            f"({first.isoformat()})"
        )


def build(
    session: Session, *, as_of: datetime, now: datetime, determination_id: int | None = None
) -> schemas.ComplianceReport:
    """The report as of ``as_of`` (already checked not to be in the future), for one
    determination or for every determination that applied to a device at that date."""
    if determination_id is not None:
        decisions.get(session, determination_id)  # NotFound: 404
    _check_data(session, as_of, determination_id)
    statuses = statuses_at(session, as_of, determination_id)
    ids = sorted({d for d, _v in statuses} | ({determination_id} if determination_id else set()))
    device_ids = sorted({v for _d, v in statuses})
    devices: dict[str, Device] = {}
    for start in range(0, len(device_ids), 400):
        part = device_ids[start : start + 400]
        devices.update(
            (d.id, d) for d in session.scalars(select(Device).where(Device.id.in_(part)))
        )
    facts = _Facts(
        as_of=as_of,
        statuses=statuses,
        devices=devices,
        held=_held_before(session, as_of, ids),
        removals=_removal_events(session, as_of, ids),
        waivers=_waivers(session, as_of, ids),
    )
    determinations = session.scalars(
        select(Determination).where(Determination.id.in_(ids)).order_by(Determination.id)
    )
    sections = [_section(session, facts, d) for d in determinations]
    counts = dict.fromkeys(STATUSES, 0)
    outcomes = dict.fromkeys(("met", "missed", "not_due", "none"), 0)
    for section in sections:
        for status, n in section.counts.items():
            counts[status] = counts.get(status, 0) + n
        outcomes[section.deadline.outcome] += 1
    return schemas.ComplianceReport(
        as_of=as_of,
        generated_at=now,
        determination_id=determination_id,
        in_scope=sum(s.in_scope for s in sections),
        counts=counts,
        removed=sum(s.removed for s in sections),
        deadlines=outcomes,
        determinations=sections,
    )
