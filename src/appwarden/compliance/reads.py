"""Reading compliance: per determination (counts, time to compliance, stragglers, now or
"as of" a past time from the history), its history, and per device."""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appwarden.compliance import schemas
from appwarden.compliance.models import (
    NOT_APPLICABLE,
    STATUSES,
    ComplianceHistory,
    ComplianceStatus,
    DeviceCompliance,
    DeviceState,
)
from appwarden.decisions import service as decisions
from appwarden.decisions.models import Determination
from appwarden.errors import NotFound
from appwarden.fleet.models import Device

STRAGGLERS = 20
NOT_COUNTED = frozenset({"exempt", "cannot_enforce"})


def _statuses(
    session: Session, determination_id: int, as_of: datetime | None
) -> list[tuple[str, str, datetime]]:
    """(device, status, since) of every device the determination applies to."""
    if as_of is None:
        query = (
            select(ComplianceStatus.device_id, ComplianceStatus.status, ComplianceStatus.since)
            .join(Device, Device.id == ComplianceStatus.device_id)
            .where(ComplianceStatus.determination_id == determination_id, Device.state != "retired")
        )
        return [(str(d), str(s), t) for d, s, t in session.execute(query)]
    latest = (
        select(func.max(ComplianceHistory.id))
        .where(ComplianceHistory.determination_id == determination_id)
        .where(ComplianceHistory.at <= as_of)
        .group_by(ComplianceHistory.device_id)
    )
    rows = session.execute(
        select(ComplianceHistory.device_id, ComplianceHistory.status, ComplianceHistory.at).where(
            ComplianceHistory.id.in_(latest)
        )
    )
    return [(str(d), str(s), t) for d, s, t in rows if s != NOT_APPLICABLE]


def _first_compliant(
    session: Session, determination_id: int, as_of: datetime | None
) -> dict[str, datetime]:
    query = (
        select(ComplianceHistory.device_id, func.min(ComplianceHistory.at))
        .where(ComplianceHistory.determination_id == determination_id)
        .where(ComplianceHistory.status == "compliant")
        .group_by(ComplianceHistory.device_id)
    )
    if as_of is not None:
        query = query.where(ComplianceHistory.at <= as_of)
    return {str(d): t for d, t in session.execute(query)}


def _percentile(durations: list[float], devices: int, share: float) -> float | None:
    needed = math.ceil(share * devices)
    if devices == 0 or needed > len(durations):
        return None
    return durations[max(needed, 1) - 1]


def time_to_compliance(
    determination: Determination,
    statuses: list[tuple[str, str, datetime]],
    first: dict[str, datetime],
) -> schemas.TimeToCompliance:
    counted = [device for device, status, _ in statuses if status not in NOT_COUNTED]
    start = determination.effective_at
    durations = sorted(
        max(0.0, (first[d] - start).total_seconds()) if start else 0.0
        for d in counted
        if d in first
    )
    n = len(counted)
    return schemas.TimeToCompliance(
        devices=n,
        compliant=len(durations),
        t50_s=_percentile(durations, n, 0.50),
        t90_s=_percentile(durations, n, 0.90),
        t99_s=_percentile(durations, n, 0.99),
        t100_s=_percentile(durations, n, 1.0),
    )


def determination_compliance(
    session: Session, determination_id: int, *, now: datetime, as_of: datetime | None = None
) -> schemas.DeterminationCompliance:
    determination = decisions.get(session, determination_id)
    statuses = _statuses(session, determination_id, as_of)
    moment = as_of or now
    counts = dict.fromkeys(STATUSES, 0)
    for _device, status, _since in statuses:
        counts[status] = counts.get(status, 0) + 1
    deadline = determination.removal_deadline
    late = sorted(
        (s for s in statuses if s[1] in ("non_compliant", "pending", "unreachable")),
        key=lambda s: (s[2], s[0]),
    )
    return schemas.DeterminationCompliance(
        determination_id=determination_id,
        as_of=moment,
        effective_at=determination.effective_at,
        removal_deadline=deadline,
        devices=len(statuses),
        counts=counts,
        time_to_compliance=time_to_compliance(
            determination, statuses, _first_compliant(session, determination_id, as_of)
        ),
        stragglers=[
            schemas.Straggler(
                device_id=device,
                status=status,
                since=since,
                overdue=deadline is not None and moment > deadline,
            )
            for device, status, since in late[:STRAGGLERS]
        ],
    )


def history(
    session: Session,
    determination_id: int,
    *,
    device_id: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> schemas.HistoryPage:
    decisions.get(session, determination_id)
    query = (
        select(ComplianceHistory)
        .where(ComplianceHistory.determination_id == determination_id)
        .where(ComplianceHistory.id > after)
        .order_by(ComplianceHistory.id)
        .limit(limit + 1)
    )
    if device_id is not None:
        query = query.where(ComplianceHistory.device_id == device_id)
    rows = list(session.scalars(query))
    items = [
        schemas.HistoryEntry(
            id=r.id,
            device_id=r.device_id,
            determination_id=r.determination_id,
            status=r.status,
            at=r.at,
        )  # fmt: skip
        for r in rows[:limit]
    ]
    return schemas.HistoryPage(items=items, next_after=items[-1].id if len(rows) > limit else None)


def device_compliance(session: Session, device_id: str) -> schemas.DeviceCompliance:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id}")
    verdict = session.get(DeviceCompliance, device_id)
    state = session.get(DeviceState, device_id)
    rows = session.execute(
        select(ComplianceStatus, Determination.title, Determination.action)
        .join(Determination, Determination.id == ComplianceStatus.determination_id)
        .where(ComplianceStatus.device_id == device_id)
        .order_by(ComplianceStatus.determination_id)
    )
    return schemas.DeviceCompliance(
        device_id=device_id,
        compliant=bool(verdict and verdict.compliant) and device.state != "retired",
        state=device.state,
        source=device.source,
        evaluated_at=verdict.evaluated_at if verdict else None,
        last_report_at=state.reported_at if state else None,
        policy_version=verdict.policy_version if verdict else None,
        applied_version=state.applied_version if state else None,
        determinations=[
            schemas.DeviceDeterminationStatus(
                determination_id=row.determination_id,
                title=title,
                action=action,
                status=row.status,
                since=row.since,
                present=row.present,
            )  # fmt: skip
            for row, title, action in rows
        ],
    )


def fleet_counts(session: Session) -> dict[tuple[str, str], int]:
    """Devices by (state, overall compliance): compliant, non_compliant, unreachable, or
    unjudged (never judged yet). For the operators' metrics."""
    rows = session.execute(
        select(Device.state, DeviceCompliance.compliant, DeviceCompliance.unreachable, func.count())
        .outerjoin(DeviceCompliance, DeviceCompliance.device_id == Device.id)
        .group_by(Device.state, DeviceCompliance.compliant, DeviceCompliance.unreachable)
    ).all()
    counts: dict[tuple[str, str], int] = {}
    for state, compliant, unreachable, count in rows:
        if compliant is None:
            verdict_name = "unjudged"
        elif unreachable:
            verdict_name = "unreachable"
        else:
            verdict_name = "compliant" if compliant else "non_compliant"
        key = (str(state), verdict_name)
        counts[key] = counts.get(key, 0) + int(count)
    return counts
