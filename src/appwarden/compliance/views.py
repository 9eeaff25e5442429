"""The compliance API: per determination (now or as of a time, and its history), per
device (what an identity provider asks), and the impact preview. Reads need ``read``.

Each read first judges again the devices that are due (policy changed, never judged,
newly unreachable: :func:`appwarden.compliance.service.refresh`), so what it shows holds
at the time of the request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from pydantic import AwareDatetime

from appwarden.api.deps import ContextDep, SessionDep, guarded
from appwarden.api.ids import MAX_ID, PathId
from appwarden.api.problems import problems
from appwarden.auth.roles import Permission
from appwarden.compliance import devices, impact, reads, schemas, service, trend, webhook

router = APIRouter(tags=["compliance"])


def _refresh(session: SessionDep, context: ContextDep, background: BackgroundTasks) -> None:
    """Judge the due devices; webhooks they queued go out after this request commits."""
    changed = service.refresh(session, context.clock.now(), settings=context.settings)
    if changed and context.settings.compliance_webhook_url:
        background.add_task(webhook.deliver_due, context.sessions, context.settings, context.clock)


RefreshDep = Annotated[None, Depends(_refresh)]


@router.get(
    "/determinations/{determination_id}/compliance",
    responses=problems(404, 422),
    **guarded(Permission.read),
)
def determination_compliance(
    determination_id: PathId,
    session: SessionDep,
    context: ContextDep,
    _refreshed: RefreshDep,
    as_of: Annotated[
        AwareDatetime | None, Query(description="A past time: read from the history.")
    ] = None,
) -> schemas.DeterminationCompliance:
    """Devices per status, time to compliance (t50/t90/t99/t100) and stragglers."""
    return reads.determination_compliance(
        session, determination_id, now=context.clock.now(), as_of=as_of
    )


@router.get(
    "/determinations/{determination_id}/compliance/history",
    responses=problems(404, 422),
    **guarded(Permission.read),
)
def determination_history(
    determination_id: PathId,
    session: SessionDep,
    _refreshed: RefreshDep,
    device_id: Annotated[str | None, Query(max_length=64)] = None,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="History id to continue after.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> schemas.HistoryPage:
    """Every status change for this determination, oldest first (append-only)."""
    return reads.history(session, determination_id, device_id=device_id, after=after, limit=limit)


@router.get(
    "/determinations/{determination_id}/compliance/trend",
    responses=problems(404),
    **guarded(Permission.read),
)
def determination_trend(
    determination_id: int, session: SessionDep, context: ContextDep, _refreshed: RefreshDep
) -> schemas.ComplianceTrend:
    """The share of its devices compliant over time, replayed from the history (what the
    dashboard's chart draws)."""
    return trend.trend(session, determination_id, now=context.clock.now())


@router.get(
    "/determinations/{determination_id}/impact",
    responses=problems(404),
    **guarded(Permission.read),
)
def determination_impact(determination_id: PathId, session: SessionDep) -> schemas.Impact:
    """How many devices in scope hold the target now, by group and department (works for
    drafts and proposals: this is the preview before approval)."""
    return impact.impact(session, determination_id)


@router.get(
    "/devices/{device_id}/compliance",
    responses=problems(404),
    **guarded(Permission.read),
)
def device_compliance(
    device_id: str, session: SessionDep, _refreshed: RefreshDep
) -> schemas.DeviceCompliance:
    """The device's status per determination and its overall verdict (``compliant``)."""
    return reads.device_compliance(session, device_id)


@router.get(
    "/devices/{device_id}/state",
    responses=problems(404),
    **guarded(Permission.read),
)
def device_state(device_id: str, session: SessionDep) -> schemas.DeviceReported:
    """What the device last reported (policy version applied, installed apps, its latest
    reports and events) and the latest policy version issued to it."""
    return devices.reported_state(session, device_id)
