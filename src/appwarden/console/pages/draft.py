"""Draft a determination from an assessment: its app as the target, the assessment as its
evidence, and the decision's words (title, action, scope, authority, instrument,
rationale, review date) from a form. For those who may propose; the draft is then proposed
from its own page. It goes through the decisions service as its JSON twin does (``POST
/api/v1/determinations``); a refusal shows the form again, as typed, with the reason.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appwarden.auth.roles import Permission
from appwarden.auth.service import Principal
from appwarden.catalog import service as catalog
from appwarden.console import labels
from appwarden.console.access import allowed
from appwarden.console.i18n import N_, translator
from appwarden.console.pages.assessment import AssessmentNotFound
from appwarden.console.pages.decide import refusal_of
from appwarden.console.refusals import Refusal
from appwarden.console.rendering import render
from appwarden.console.sessions import context_of
from appwarden.decisions import service as decisions
from appwarden.decisions.schemas import DeterminationCreate
from appwarden.decisions.service import Acting
from appwarden.errors import DomainError, NotFound
from appwarden.fleet import service as fleet

router = APIRouter()
Proposer = Annotated[Principal, allowed(Permission.propose)]
REVIEW_DAYS = 90
#: What a form field is called on the page, by the field pydantic names.
FIELDS = {
    "title": N_("Title"),
    "action": N_("Action"),
    "scope": N_("Scope (device groups)"),
    "authority": N_("Authority"),
    "instrument": N_("Instrument"),
    "rationale": N_("Rationale"),
    "review_at": N_("Review"),
}


def _app_of(request: Request, assessment_id: int) -> dict[str, Any]:
    context = context_of(request)
    with context.reading() as session:
        try:
            row = catalog.get_assessment(session, assessment_id=assessment_id)
        except NotFound:
            raise AssessmentNotFound from None
        app = catalog.get_app(session, app_id=row.app_id)
        groups = [g.name for g in session.scalars(fleet.groups_query())]
        return {"app_id": app.app_id, "platform": app.platform, "name": app.name,
                "groups": groups}  # fmt: skip


def _form_page(
    request: Request, principal: Principal, assessment_id: int, form: dict[str, str],
    *, refusal: Refusal | None = None, status: int = 200,
) -> Response:  # fmt: skip
    return render(
        request, "draft.html", status=status, principal=principal, assessment_id=assessment_id,
        app=_app_of(request, assessment_id), form=form, refusal=refusal, labels=labels,
        twin="POST /api/v1/determinations",
    )  # fmt: skip


@router.get("/assessments/{assessment_id}/draft")
def draft_form(request: Request, principal: Proposer, assessment_id: int) -> Response:
    app = _app_of(request, assessment_id)
    review = context_of(request).clock.now().date() + timedelta(days=REVIEW_DAYS)
    _ = translator(request).gettext
    form = {"title": _("Ban of %(name)s") % {"name": app["name"]}, "action": "ban",
            "scope": "*", "review_on": review.isoformat()}  # fmt: skip
    return _form_page(request, principal, assessment_id, form)


def _review_at(day: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(day), time(12, 0), tzinfo=UTC)
    except ValueError:
        return None


@router.post("/assessments/{assessment_id}/draft")
def draft(
    request: Request,
    principal: Proposer,
    assessment_id: int,
    title: Annotated[str, Form(max_length=1000)] = "",
    action: Annotated[str, Form(max_length=16)] = "",
    scope: Annotated[str, Form(max_length=200)] = "",
    authority: Annotated[str, Form(max_length=1000)] = "",
    instrument: Annotated[str, Form(max_length=2000)] = "",
    rationale: Annotated[str, Form(max_length=40000)] = "",
    review_on: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Write the draft and go to its page (where it is proposed)."""
    typed = {"title": title, "action": action, "scope": scope, "authority": authority,
             "instrument": instrument, "rationale": rationale, "review_on": review_on}  # fmt: skip
    app = _app_of(request, assessment_id)
    _ = translator(request).gettext
    fields = {
        "title": title.strip(), "action": action, "scope": [scope.strip()],
        "target": {"kind": "app", "app_id": app["app_id"], "platform": app["platform"]},
        "authority": authority.strip(), "instrument": instrument.strip(),
        "rationale": rationale.strip(), "evidence": [assessment_id],
        "review_at": _review_at(review_on),
    }  # fmt: skip
    try:
        body = DeterminationCreate.model_validate(fields)
    except ValidationError as error:
        names = dict.fromkeys(str(e["loc"][0]) for e in error.errors() if e["loc"])
        wrong = ", ".join(_(FIELDS[n]) for n in names if n in FIELDS) or _("the form")
        reason = _("Check these fields: %(fields)s.") % {"fields": wrong}
        return _form_page(request, principal, assessment_id, typed, refusal=Refusal(reason),
                          status=422)  # fmt: skip
    context = context_of(request)
    try:
        with context.sessions() as session, session.begin():
            acting = Acting(session, context.clock, context.audit_key, context.settings, principal)
            number = decisions.create(acting, body).id
    except DomainError as error:
        return _form_page(request, principal, assessment_id, typed,
                          refusal=refusal_of(request, error), status=error.status)  # fmt: skip
    return RedirectResponse(f"/determinations/{number}?done=drafted", status_code=303)
