"""Devices: the list (filtered by group, platform, ownership, state, source and overall compliance;
paginated; readable without JavaScript) and one device's page (its facts and groups, the
policy version issued and applied, compliance per determination, installed apps, its
latest reports and events).

JSON twins: ``GET /api/v1/devices`` (the same filters), ``GET /api/v1/devices/{id}``,
``GET /api/v1/devices/{id}/compliance`` and ``GET /api/v1/devices/{id}/state``.
"""

from __future__ import annotations

from typing import Annotated, Any, cast, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Query
from starlette.requests import Request
from starlette.responses import Response

from appwarden.auth.roles import Permission
from appwarden.auth.service import Principal
from appwarden.compliance import devices as compliance_devices
from appwarden.compliance import reads
from appwarden.compliance.devices import Verdict
from appwarden.console import compliance, labels
from appwarden.console import filters as form_filters
from appwarden.console.access import allowed
from appwarden.console.errors import ConsoleError
from appwarden.console.i18n import N_
from appwarden.console.nav import NavItem
from appwarden.console.rendering import render
from appwarden.console.sessions import context_of
from appwarden.errors import NotFound
from appwarden.fleet import membership, service
from appwarden.fleet.reads import device_detail, device_read
from appwarden.fleet.schemas import DeviceState, Ownership, Platform

router = APIRouter()
NAV = NavItem("/devices", N_("Devices"), Permission.read)
PAGE_SIZE = 50

Reader = Annotated[Principal, allowed(Permission.read)]


class DeviceNotFound(ConsoleError):
    status = 404
    title = N_("Page not found")
    detail = N_("There is no device with this identifier.")


class GroupFilterNotFound(ConsoleError):
    status = 404
    title = N_("Page not found")
    detail = N_("There is no device group with this number.")


@router.get("/devices")
def list_page(
    request: Request,
    principal: Reader,
    background: BackgroundTasks,
    group: Annotated[str, Query(alias="group_id", max_length=12)] = "",
    platform_filter: Annotated[str, Query(alias="platform", max_length=16)] = "",
    ownership_filter: Annotated[str, Query(alias="ownership", max_length=16)] = "",
    state_filter: Annotated[str, Query(alias="state", max_length=16)] = "",
    compliance_filter: Annotated[str, Query(alias="compliance", max_length=16)] = "",
    source_filter: Annotated[str, Query(alias="source", max_length=32)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    group_id = form_filters.number(group)
    platform = form_filters.choice(platform_filter, get_args(Platform))
    ownership = form_filters.choice(ownership_filter, get_args(Ownership))
    state = form_filters.choice(state_filter, get_args(DeviceState))
    source = form_filters.choice(source_filter, tuple(labels.SOURCES))
    verdict = cast(
        "Verdict | None", form_filters.choice(compliance_filter, compliance_devices.VERDICTS)
    )
    compliance.refresh(request, background)
    context = context_of(request)
    filters: dict[str, Any] = {"group_id": group_id, "platform": platform,
                               "ownership": ownership, "state": state,
                               "compliance": verdict, "source": source}  # fmt: skip
    filters = {k: v for k, v in filters.items() if v is not None}
    with context.reading() as session:
        groups = list(session.scalars(service.groups_query()))
        try:
            stmt = service.devices_query(
                session,
                group_id=group_id,
                platform=platform,
                ownership=ownership,
                state=state,
                source=source,
            )
        except NotFound:
            raise GroupFilterNotFound from None
        if verdict is not None:
            stmt = stmt.where(compliance_devices.verdict_clause(verdict))
        rows = list(session.scalars(stmt.offset(offset).limit(PAGE_SIZE + 1)))
        items = [device_read(d) for d in rows[:PAGE_SIZE]]
        verdicts = compliance_devices.verdicts(session, [d.id for d in items])

    def page_link(start: int) -> str:
        return "/devices?" + urlencode({**filters, "offset": start})

    query = urlencode(filters)
    return render(
        request,
        "devices.html",
        principal=principal,
        items=items,
        verdicts=verdicts,
        groups=groups,
        filters=filters,
        labels=labels,
        first=offset + 1,
        older=page_link(offset + PAGE_SIZE) if len(rows) > PAGE_SIZE else None,
        newer=page_link(max(offset - PAGE_SIZE, 0)) if offset > 0 else None,
        twin="GET /api/v1/devices" + (f"?{query}" if query else ""),
    )


@router.get("/devices/{device_id}")
def detail_page(
    request: Request, principal: Reader, device_id: str, background: BackgroundTasks
) -> Response:
    compliance.refresh(request, background)
    context = context_of(request)
    with context.reading() as session:
        try:
            row = service.get_device(session, device_id=device_id)
        except NotFound:
            raise DeviceNotFound from None
        device = device_detail(session, row)
        group_ids = {g.name: g.id for g in membership.groups_of(session, row)}
        verdict = compliance_devices.verdicts(session, [device.id])[device.id]
        judged = reads.device_compliance(session, device.id)
        reported = compliance_devices.reported_state(session, device.id)
    base = f"/api/v1/devices/{device.id}"
    return render(
        request,
        "device.html",
        principal=principal,
        device=device,
        verdict=verdict,
        judged=judged,
        reported=reported,
        group_ids=group_ids,
        labels=labels,
        twins=[f"GET {base}", f"GET {base}/compliance", f"GET {base}/state"],
    )
