"""Exports: for a device group (or every device), one download per kind (Apple profile,
Android Management API, Intune, RPZ, hosts, domains) and what each could not express.

JSON twin: ``GET /api/v1/exports/{kind}?scope=GROUP`` (its warnings in the
``AppWarden-Warnings`` header). The console serves the same files at ``/exports/{kind}``
for its session. Signing a profile stays on the command line, where the key is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from appwarden.auth.roles import Permission
from appwarden.auth.service import Principal
from appwarden.console.access import allowed
from appwarden.console.errors import ConsoleError
from appwarden.console.i18n import N_
from appwarden.console.nav import NavItem
from appwarden.console.rendering import render
from appwarden.console.sessions import context_of
from appwarden.errors import NotFound
from appwarden.exports import service
from appwarden.exports.kinds import BUILDERS, KINDS
from appwarden.fleet.models import DeviceGroup

router = APIRouter()
NAV = NavItem("/exports", N_("Exports"), Permission.read)
GROUPS_OFFERED = 500

Reader = Annotated[Principal, allowed(Permission.read)]

#: What each kind is for, as the page says it.
DESCRIPTIONS = {
    "mobileconfig": N_("Apple configuration profile (restrictions payload) for iOS bans"),
    "amapi": N_("Android Management API policy (applications blocked)"),
    "intune": N_("Microsoft Intune (Graph) iOS compliance and Android restriction policies"),
    "rpz": N_("DNS response policy zone (RPZ)"),
    "hosts": N_("Hosts file"),
    "domains": N_("Plain list of domains"),
}


class ScopeNotFound(ConsoleError):
    status = 404
    title = N_("Page not found")
    detail = N_("There is no device group with this name.")


class KindNotFound(ConsoleError):
    status = 404
    title = N_("Page not found")
    detail = N_("There is no export of this kind.")


@dataclass(frozen=True)
class Offered:
    kind: str
    description: str
    href: str
    filename: str
    size: int
    warnings: tuple[str, ...]


@router.get("/exports")
def exports_page(
    request: Request,
    principal: Reader,
    scope: Annotated[str, Query(min_length=1, max_length=100)] = service.ALL_DEVICES,
) -> Response:
    context = context_of(request)
    now = context.clock.now()
    with context.reading() as session:
        groups = list(
            session.scalars(
                select(DeviceGroup.name).order_by(DeviceGroup.name).limit(GROUPS_OFFERED)
            )
        )
        try:
            lists = service.scope_lists(session, scope, now=now)
        except NotFound:
            raise ScopeNotFound from None
    offered = []
    for kind in KINDS:
        built = BUILDERS[kind](lists)
        offered.append(
            Offered(
                kind=kind,
                description=DESCRIPTIONS[kind],
                href=f"/exports/{kind}?" + urlencode({"scope": scope}),
                filename=built.filename,
                size=len(built.content),
                warnings=tuple(built.warnings),
            )
        )
    return render(
        request,
        "exports.html",
        principal=principal,
        scope=scope,
        groups=groups,
        offered=offered,
        all_devices=service.ALL_DEVICES,
        twin=f"GET /api/v1/exports/KIND?{urlencode({'scope': scope})}",
    )


@router.get("/exports/{kind}")
def download(
    request: Request,
    principal: Reader,
    kind: str,
    scope: Annotated[str, Query(min_length=1, max_length=100)],
) -> Response:
    if kind not in BUILDERS:
        raise KindNotFound
    context = context_of(request)
    with context.reading() as session:
        try:
            built = service.export(session, kind, scope, now=context.clock.now())
        except NotFound:
            raise ScopeNotFound from None
    return Response(
        built.content,
        media_type=built.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{built.filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
