"""Determinations: the list, and one determination's page (target, scope, authority,
rationale, evidence, timeline, compliance of its scope, and the actions the role may take).

JSON twins: ``GET /api/v1/determinations`` (the same filters), ``GET
/api/v1/determinations/{id}`` and ``GET /api/v1/determinations/{id}/compliance``. The
actions are in :mod:`appwarden.console.pages.decide`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from appwarden.audit import service as audit
from appwarden.audit.models import AuditEvent
from appwarden.auth.roles import Permission, allows
from appwarden.auth.service import Principal
from appwarden.console import compliance, labels
from appwarden.console import filters as form_filters
from appwarden.console.access import allowed
from appwarden.console.errors import ConsoleError
from appwarden.console.i18n import N_
from appwarden.console.nav import NavItem
from appwarden.console.rendering import render
from appwarden.console.sessions import context_of
from appwarden.decisions import reads, service
from appwarden.decisions.lifecycle import Status, lifecycle
from appwarden.decisions.models import Determination
from appwarden.errors import NotFound

router = APIRouter()
NAV = NavItem("/determinations", N_("Determinations"), Permission.read)
PAGE_SIZE = 50
#: Actions a page offers as a form (renew needs dates: the API or the CLI).
FORM_ACTIONS = ("propose", "send_notice", "approve", "approve_interim", "confirm", "reject",
                "rescind")  # fmt: skip
#: Actions after which the vendor's reply must be declared considered, if there is one.
CONSIDER_REPLY = ("approve", "confirm")
AUDIT_SHOWN = 50
#: What the page says was done by the other forms (waivers, the vendor's reply).
DONE_ELSEWHERE = {
    "waiver_requested": N_("Waiver requested"),
    "waiver_approved": N_("Waiver approved"),
    "waiver_revoked": N_("Waiver revoked"),
    "reply_recorded": N_("Vendor reply recorded"),
    "drafted": N_("Draft written"),
}

Reader = Annotated[Principal, allowed(Permission.read)]


class DeterminationNotFound(ConsoleError):
    status = 404
    title = N_("Page not found")
    detail = N_("There is no determination with this number.")


def slug(action: str) -> str:
    return action.replace("_", "-")


@router.get("/determinations")
def list_page(
    request: Request,
    principal: Reader,
    status_filter: Annotated[str, Query(alias="status", max_length=32)] = "",
    action_filter: Annotated[str, Query(alias="action", max_length=32)] = "",
    kind_filter: Annotated[str, Query(alias="target_kind", max_length=32)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    chosen = form_filters.choice(status_filter, [s.value for s in Status])
    status = Status(chosen) if chosen else None
    action = form_filters.choice(action_filter, labels.ACTIONS)
    target_kind = form_filters.choice(kind_filter, labels.TARGET_KINDS)
    context = context_of(request)
    now = context.clock.now()
    stmt = service.query(now=now, status=status, action=action, target_kind=target_kind)
    with context.reading() as session:
        rows = session.scalars(stmt.offset(offset).limit(PAGE_SIZE + 1)).all()
        items = [reads.read(session, d, now=now) for d in rows[:PAGE_SIZE]]
    filters = {k: v for k, v in {"status": status, "action": action,
                                 "target_kind": target_kind}.items() if v}  # fmt: skip
    query = urlencode(filters)

    def page_link(start: int) -> str:
        return "/determinations?" + urlencode({**filters, "offset": start})

    return render(
        request,
        "determinations.html",
        principal=principal,
        items=items,
        filters=filters,
        labels=labels,
        older=page_link(offset + PAGE_SIZE) if len(rows) > PAGE_SIZE else None,
        newer=page_link(max(offset - PAGE_SIZE, 0)) if offset > 0 else None,
        may_propose=allows(principal.role, Permission.propose),
        twin="GET /api/v1/determinations" + (f"?{query}" if query else ""),
    )


def _page_exists(request: Request, template: str) -> bool:
    """Whether this server has a console page at ``template`` (a route path)."""
    return any(isinstance(r, APIRoute) and r.path == template for r in request.app.routes)


def offered(
    principal: Principal, determination: Determination, allowed_now: list[str]
) -> dict[str, Any]:
    """The actions this user may take now, and those separation of duties keeps from them."""
    table = lifecycle()
    mine = principal.user_id is not None and principal.user_id in (
        determination.created_by_id,
        determination.proposed_by_id,
    )
    actions, withheld = [], []
    for action in allowed_now:
        if action not in FORM_ACTIONS or not allows(principal.role, table.permission_of(action)):
            continue
        rows = [r for r in table.transitions if r.action == action]
        if mine and any("not_proposer" in r.conditions for r in rows):
            withheld.append(action)
        else:
            actions.append(action)
    return {"actions": actions, "withheld": withheld}


def detail_values(request: Request, principal: Principal, determination_id: int) -> dict[str, Any]:
    """Everything the determination page shows (also after a refused action)."""
    context = context_of(request)
    now = context.clock.now()
    with context.reading() as session:
        try:
            determination = service.get(session, determination_id)
        except NotFound:
            raise DeterminationNotFound from None
        detail = reads.detail(session, determination, now=now)
        share = compliance.share(session, determination_id, request=request)
        offer = offered(principal, determination, detail.allowed_actions)
        events: list[AuditEvent] = []
        if allows(principal.role, Permission.audit):
            where = audit.EventFilter(object_type="determination", object_id=str(determination_id))
            events, _total = audit.list_events(session, where=where, limit=AUDIT_SHOWN, offset=0)
    base = f"/api/v1/determinations/{determination_id}"
    return {
        "d": detail,
        "share": share,
        "labels": labels,
        "audit_events": events,
        "may_audit": allows(principal.role, Permission.audit),
        "assessment_pages": _page_exists(request, "/assessments/{assessment_id}"),
        "consider_reply": CONSIDER_REPLY,
        "slug": slug,
        "twins": [f"GET {base}", f"GET {base}/compliance"],
        "me": principal.actor,
        "may_request_waiver": detail.status == "in_force"
        and allows(principal.role, Permission.request_waiver),
        "may_decide_waivers": allows(principal.role, Permission.approve_waiver),
        "may_record_reply": detail.notice is not None
        and detail.reply is None
        and detail.status in ("notice", "in_force")
        and allows(principal.role, Permission.propose),
        "waiver_max_days": context.settings.waiver_max_days,
        **offer,
    }


@router.get("/determinations/{determination_id}")
def detail_page(
    request: Request,
    principal: Reader,
    determination_id: int,
    background: BackgroundTasks,
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    compliance.refresh(request, background)
    values = detail_values(request, principal, determination_id)
    done_action = (done or "").replace("-", "_")
    done_label = (
        labels.TRANSITIONS.get(done_action)
        if done_action in FORM_ACTIONS
        else DONE_ELSEWHERE.get(done_action)
    )
    return render(
        request, "determination.html", principal=principal, done=done_label, refusal=None,
        form={}, **values,
    )  # fmt: skip
