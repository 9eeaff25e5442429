"""A determination's compliance over time, replayed from the append-only history: the
share of its devices compliant after each change (exempt and cannot_enforce aside, as in
the time to compliance), thinned to a number of points a chart can draw."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.compliance import schemas
from appwarden.compliance.models import NOT_APPLICABLE, ComplianceHistory
from appwarden.compliance.reads import NOT_COUNTED
from appwarden.decisions import service as decisions
from appwarden.fleet.models import Device

POINTS = 60
_OUT = NOT_COUNTED | {NOT_APPLICABLE}


def _point(at: datetime, devices: int, compliant: int) -> schemas.TrendPoint:
    percent = round(100 * compliant / devices, 1) if devices else None
    return schemas.TrendPoint(at=at, devices=devices, compliant=compliant, percent=percent)


def _thin(
    points: list[schemas.TrendPoint], start: datetime, end: datetime, most: int
) -> list[schemas.TrendPoint]:
    """At most ``most`` points: the last of each equal slice of [start, end]."""
    if len(points) <= most or end <= start:
        return points[-most:]
    width = (end - start) / most
    kept: dict[int, schemas.TrendPoint] = {}
    for point in points:
        kept[min(int((point.at - start) / width), most - 1)] = point
    return [kept[k] for k in sorted(kept)]


def trend(
    session: Session, determination_id: int, *, now: datetime, points: int = POINTS
) -> schemas.ComplianceTrend:
    """The share compliant after each change since the determination took effect."""
    determination = decisions.get(session, determination_id)
    rows = session.execute(
        select(ComplianceHistory.device_id, ComplianceHistory.status, ComplianceHistory.at)
        .join(Device, Device.id == ComplianceHistory.device_id)
        .where(ComplianceHistory.determination_id == determination_id)
        .where(Device.state != "retired")  # as the counts now leave them out
        .order_by(ComplianceHistory.at, ComplianceHistory.id)
    ).all()
    start = determination.effective_at or (rows[0].at if rows else now)
    status: dict[str, str] = {}
    devices = compliant = 0
    found: list[schemas.TrendPoint] = []
    for device, new, at in rows:
        old = status.get(device)
        devices += (new not in _OUT) - (old is not None and old not in _OUT)
        compliant += (new == "compliant") - (old == "compliant")
        status[device] = new
        point = _point(max(at, start), devices, compliant)
        if found and found[-1].at == point.at:
            found[-1] = point
        else:
            found.append(point)
    thinned = _thin(found, start, now, points - 1)
    if not thinned or thinned[-1].at < now:
        thinned.append(_point(now, devices, compliant))
    return schemas.ComplianceTrend(
        determination_id=determination_id, effective_at=determination.effective_at,
        points=thinned,
    )  # fmt: skip
