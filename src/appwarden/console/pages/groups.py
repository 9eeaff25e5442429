"""Device groups: the list, and one group's page (its rule, its static members, the
determinations whose scope names it, and a link to all its members in the device list).

JSON twins: ``GET /api/v1/groups``, ``GET /api/v1/groups/{id}`` and ``GET
/api/v1/devices?group_id={id}`` (static members and rule matches).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from appwarden.auth.roles import Permission
from appwarden.auth.service import Principal
from appwarden.console import labels
from appwarden.console.access import allowed
from appwarden.console.errors import ConsoleError
from appwarden.console.i18n import N_
from appwarden.console.nav import NavItem
from appwarden.console.rendering import render
from appwarden.console.sessions import context_of
from appwarden.decisions import service as decisions
from appwarden.errors import NotFound
from appwarden.fleet import service
from appwarden.fleet.reads import group_read

router = APIRouter()
NAV = NavItem("/groups", N_("Groups"), Permission.read)
PAGE_SIZE = 50
MEMBERS_SHOWN = 200

Reader = Annotated[Principal, allowed(Permission.read)]


class GroupNotFound(ConsoleError):
    status = 404
    title = N_("Page not found")
    detail = N_("There is no device group with this number.")


@router.get("/groups")
def list_page(
    request: Request, principal: Reader, offset: Annotated[int, Query(ge=0)] = 0
) -> Response:
    context = context_of(request)
    with context.reading() as session:
        rows = list(session.scalars(service.groups_query().offset(offset).limit(PAGE_SIZE + 1)))
        items = [group_read(session, g) for g in rows[:PAGE_SIZE]]

    def page_link(start: int) -> str:
        return "/groups?" + urlencode({"offset": start})

    return render(
        request,
        "groups.html",
        principal=principal,
        items=items,
        labels=labels,
        older=page_link(offset + PAGE_SIZE) if len(rows) > PAGE_SIZE else None,
        newer=page_link(max(offset - PAGE_SIZE, 0)) if offset > 0 else None,
    )


@router.get("/groups/{group_id}")
def detail_page(request: Request, principal: Reader, group_id: int) -> Response:
    context = context_of(request)
    now = context.clock.now()
    with context.reading() as session:
        try:
            group = group_read(session, service.get_group(session, group_id=group_id))
        except NotFound:
            raise GroupNotFound from None
        members = service.static_member_ids(session, group_id)
        naming = [
            (d.id, d.title, str(decisions.current_status(d, now).value))
            for d in session.scalars(decisions.query(now=now))
            if group.name in (d.scope or [])
        ]
    return render(
        request,
        "group.html",
        principal=principal,
        group=group,
        members=members[:MEMBERS_SHOWN],
        more_members=max(len(members) - MEMBERS_SHOWN, 0),
        naming=naming,
        labels=labels,
        twins=[f"GET /api/v1/groups/{group_id}", f"GET /api/v1/devices?group_id={group_id}"],
    )
