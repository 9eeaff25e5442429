"""One device as compliance sees it: its overall verdict (to filter device lists by) and
what it last reported (policy versions, installed apps, recent reports and events)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from appwarden.compliance import schemas
from appwarden.compliance.models import (
    DeviceCompliance,
    DeviceEvent,
    DeviceReport,
    DeviceState,
    InstalledApp,
)
from appwarden.enforcement.models import DevicePolicyVersion
from appwarden.errors import NotFound
from appwarden.fleet.models import Device
from appwarden.inventories.models import DeviceInventory

#: A device's overall verdict, as the metrics name it: ``unjudged`` until first judged.
Verdict = Literal["compliant", "non_compliant", "unreachable", "unjudged"]
VERDICTS: tuple[Verdict, ...] = ("compliant", "non_compliant", "unreachable", "unjudged")
REPORTS_SHOWN = 20
EVENTS_SHOWN = 50


def verdict_clause(verdict: Verdict) -> ColumnElement[bool]:
    """SQL over ``Device`` for "its overall verdict is ``verdict``"."""
    row = DeviceCompliance.device_id == Device.id
    if verdict == "unjudged":
        return ~exists().where(row)
    if verdict == "unreachable":
        return exists().where(row, DeviceCompliance.unreachable.is_(True))
    wanted = verdict == "compliant"
    return exists().where(
        and_(row, DeviceCompliance.unreachable.is_(False), DeviceCompliance.compliant.is_(wanted))
    )


def verdicts(session: Session, device_ids: list[str]) -> dict[str, Verdict]:
    """Each device's overall verdict (as :func:`verdict_clause` defines it)."""
    found: dict[str, Verdict] = dict.fromkeys(device_ids, "unjudged")
    if not device_ids:
        return found
    rows = session.execute(
        select(DeviceCompliance.device_id, DeviceCompliance.compliant, DeviceCompliance.unreachable)
        .where(DeviceCompliance.device_id.in_(device_ids))
    )  # fmt: skip
    for device_id, compliant, unreachable in rows:
        found[device_id] = (
            "unreachable" if unreachable else ("compliant" if compliant else "non_compliant")
        )
    return found


def _inventory(row: DeviceInventory) -> schemas.ImportedInventory:
    return schemas.ImportedInventory(
        source=row.source,
        external_id=row.external_id,
        name=row.name,
        taken_at=row.taken_at,
        imported_at=row.imported_at,
        imported_by=row.imported_by,
        unresolved_apps=list(row.unresolved or []),
    )


def reported_state(session: Session, device_id: str) -> schemas.DeviceReported:
    """What the device last reported and the policy it was last issued (read only: a
    version waiting to be compiled shows once the device or a read asks for it)."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id}")
    state = session.get(DeviceState, device_id)
    imported = session.get(DeviceInventory, device_id)
    issued = session.get(DevicePolicyVersion, device_id)
    apps = session.execute(
        select(InstalledApp.app_id, InstalledApp.signer)
        .where(InstalledApp.device_id == device_id)
        .order_by(InstalledApp.app_id)
    )
    reports = session.execute(
        select(DeviceReport.report_id, DeviceReport.received_at)
        .where(DeviceReport.device_id == device_id)
        .order_by(DeviceReport.received_at.desc(), DeviceReport.report_id)
        .limit(REPORTS_SHOWN)
    )
    events = session.scalars(
        select(DeviceEvent)
        .where(DeviceEvent.device_id == device_id)
        .order_by(DeviceEvent.id.desc())
        .limit(EVENTS_SHOWN)
    )
    return schemas.DeviceReported(
        device_id=device_id,
        source=device.source,
        inventory=None if imported is None else _inventory(imported),
        issued_version=issued.version if issued else None,
        issued_at=issued.issued_at if issued else None,
        applied_version=state.applied_version if state else None,
        reported_at=state.reported_at if state else None,
        inventory_reported=state is not None and state.inventory_hash is not None,
        installed_apps=[schemas.ReportedApp(app_id=a, signer=s) for a, s in apps],
        reports=[schemas.ReportReceived(report_id=r, received_at=t) for r, t in reports],
        events=[
            schemas.ReportedEvent(kind=e.kind, app_id=e.app_id, at=e.at, received_at=e.received_at)
            for e in events
        ],
    )
