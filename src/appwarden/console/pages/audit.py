"""The audit log: events with filters, and "verify chain" with its result. Read-only, and
readable without JavaScript (with htmx the verification replaces its box in place).

JSON twins: ``GET /api/v1/audit/events`` (the same filters) and ``GET /api/v1/audit/verify``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from appwarden.audit import service
from appwarden.audit.models import AuditEvent
from appwarden.auth.roles import Permission
from appwarden.auth.service import Principal
from appwarden.console.access import allowed
from appwarden.console.i18n import N_
from appwarden.console.nav import NavItem
from appwarden.console.rendering import render
from appwarden.console.sessions import context_of

router = APIRouter()
NAV = NavItem("/audit", N_("Audit"), Permission.audit)
PAGE_SIZE = 50

#: What broke in the chain (``Verification.problem``), in words.
PROBLEMS = {
    "gap": N_("Events are missing from the sequence: they were deleted."),
    "link": N_("Its link to the event before it does not match."),
    "edited": N_("Its content does not match its hash: it was edited."),
}

Auditor = Annotated[Principal, allowed(Permission.audit)]
Filter = Annotated[str | None, Query(max_length=64)]


@dataclass(frozen=True)
class EventRow:
    seq: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    changes: str | None


def _row(event: AuditEvent) -> EventRow:
    changes: dict[str, Any] = {}
    if event.before is not None:
        changes["before"] = event.before
    if event.after is not None:
        changes["after"] = event.after
    text = json.dumps(changes, indent=2, sort_keys=True, ensure_ascii=False) if changes else None
    return EventRow(
        seq=event.seq,
        at=event.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        changes=text,
    )


def _events(request: Request, where: service.EventFilter, offset: int) -> dict[str, Any]:
    context = context_of(request)
    with context.reading() as session:
        rows, total = service.list_events(
            session, where=where, limit=PAGE_SIZE, offset=offset, newest_first=True
        )
    filters = {k: v for k, v in vars(where).items() if v}
    query = urlencode(filters)

    def page_link(start: int) -> str:
        return "/audit?" + urlencode({**filters, "offset": start})

    return {
        "events": [_row(event) for event in rows],
        "total": total,
        "first": offset + 1 if rows else 0,
        "last": offset + len(rows),
        "filters": where,
        "newer": page_link(max(offset - PAGE_SIZE, 0)) if offset > 0 else None,
        "older": page_link(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
        "twin": "GET /api/v1/audit/events" + (f"?{query}" if query else ""),
    }


def _verify(request: Request) -> dict[str, Any]:
    context = context_of(request)
    with context.reading() as session:
        verification = service.verify(session, key=context.audit_key)
    return {"verification": verification, "problem": PROBLEMS.get(verification.problem or "", "")}


@router.get("/audit")
def audit_page(
    request: Request,
    principal: Auditor,
    actor: Filter = None,
    action: Filter = None,
    object_type: Filter = None,
    object_id: Filter = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    where = service.EventFilter(
        object_type=object_type, object_id=object_id, actor=actor, action=action
    )
    values = _events(request, where, offset)
    page = {"verification": None, "problem": "", **values}
    return render(request, "audit.html", principal=principal, **page)


@router.get("/audit/verify")
def verify_chain(request: Request, principal: Auditor) -> Response:
    """Walk the chain. htmx gets the result box alone; without JavaScript, the whole page."""
    result = _verify(request)
    if request.headers.get("hx-request") == "true":
        return render(request, "audit_verify.html", principal=principal, **result)
    values = _events(request, service.EventFilter(), 0)
    return render(request, "audit.html", principal=principal, **result, **values)
