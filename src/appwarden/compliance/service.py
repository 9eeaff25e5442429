"""Each device's status per determination, kept current, with an append-only history.

:func:`recompute` judges one device against its current policy (after a state report);
:func:`refresh` judges again every device whose policy changed since it was last judged,
that was never judged, or that has just become unreachable (the distribution's reconcile
calls it, and so do the compliance reads). Both are :func:`~appwarden.compliance.judging.
judge_many`: a status change writes one history row; a change of a device's overall
verdict queues a webhook (delivered after the commit).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from appwarden.compliance.judging import judge_many, unreachable_after
from appwarden.compliance.models import DeviceCompliance, DeviceReport, DeviceState
from appwarden.config import Settings
from appwarden.db import chunked
from appwarden.enforcement.models import DevicePolicyVersion
from appwarden.fleet.models import Device

#: How long a report id is remembered: a retry later than this is a new report.
REPORT_IDS_KEPT = timedelta(days=30)


def prune_report_ids(session: Session, now: datetime) -> None:
    session.execute(delete(DeviceReport).where(DeviceReport.received_at < now - REPORT_IDS_KEPT))


def recompute(session: Session, device: Device, *, now: datetime, settings: Settings) -> int:
    """Judge ``device`` against its current policy; returns that policy's version."""
    return judge_many(session, [device], now=now, settings=settings).versions[device.id]


def due(session: Session, now: datetime, settings: Settings) -> set[str]:
    """Devices to judge again: policy changed, never judged, or newly unreachable."""
    live = Device.state != "retired"
    changed = (
        select(DevicePolicyVersion.device_id)
        .join(Device, Device.id == DevicePolicyVersion.device_id)
        .outerjoin(DeviceCompliance, DeviceCompliance.device_id == DevicePolicyVersion.device_id)
        .where(
            live,
            or_(
                DeviceCompliance.device_id.is_(None),
                DeviceCompliance.policy_version.is_(None),
                DeviceCompliance.policy_version != DevicePolicyVersion.version,
            ),
        )
    )
    never = (
        select(Device.id)
        .outerjoin(DeviceCompliance, DeviceCompliance.device_id == Device.id)
        .where(live, DeviceCompliance.device_id.is_(None))
    )
    silent = (
        select(Device.id)
        .join(DeviceCompliance, DeviceCompliance.device_id == Device.id)
        .outerjoin(DeviceState, DeviceState.device_id == Device.id)
        .where(
            live,
            DeviceCompliance.unreachable.is_(False),
            func.coalesce(DeviceState.reported_at, Device.enrolled_at)
            <= now - unreachable_after(settings),
        )
    )
    due: set[str] = set()
    for query in (changed, never, silent):
        due.update(str(i) for i in session.scalars(query))
    return due


def refresh(
    session: Session,
    now: datetime,
    device_ids: Iterable[str] | None = None,
    *,
    settings: Settings,
) -> list[str]:
    """Judge again ``device_ids`` (all of them), or, if None, every device whose policy
    version changed since it was last judged, that was never judged or that has become
    unreachable (and forgets report ids older than :data:`REPORT_IDS_KEPT`). Returns the
    devices whose overall verdict changed."""
    if device_ids is None:
        prune_report_ids(session, now)
    ids = sorted(set(device_ids) if device_ids is not None else due(session, now, settings))
    changed: list[str] = []
    for part in chunked(ids):
        # On PostgreSQL, lock the devices first, skipping those a state report is being
        # recorded for right now (that report judges them): this judging then never waits
        # for the report writer, so the two can neither deadlock nor insert the same
        # status twice. (SQLite has one writer; there this is a plain read.) Not a key
        # lock, as in :func:`appwarden.compliance.intake.lock`.
        query = select(Device).where(Device.id.in_(part)).order_by(Device.id)
        devices = list(session.scalars(query.with_for_update(skip_locked=True, key_share=True)))
        changed += judge_many(session, devices, now=now, settings=settings).changed
    return changed
