"""Waivers from the determination page: request one (named devices and users, a reason
from the closed list, mitigations, an end date), approve or revoke one. Each form goes
through the waivers service, as its JSON twin does (``POST
/api/v1/determinations/{id}/waivers``, ``POST /api/v1/waivers/{id}/approve`` and
``/revoke``): roles, "in force only", the longest waiver and separation of duties (the
requester never approves) are checked there. A refusal shows the page again, with the
reason in the page's language and the form as it was typed; nothing changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appwarden.auth.roles import Permission, allows
from appwarden.console.i18n import N_, translator
from appwarden.console.pages.decide import ActionForbidden, refusal_of, refused
from appwarden.console.pages.determinations import DeterminationNotFound, Reader
from appwarden.console.refusals import Refusal
from appwarden.console.sessions import context_of
from appwarden.decisions.service import Acting
from appwarden.errors import DomainError, NotFound
from appwarden.waivers import service
from appwarden.waivers.schemas import WaiverCreate

router = APIRouter()
NOTE_LIMIT = 5000

#: Why a request form cannot be used, by the field pydantic names.
FIELD_PROBLEMS = {
    "devices": N_("Name each device by its identifier, one a line, without * or ?."),
    "users": N_("Name each user, one a line, without * or ?."),
    "reason": N_("Choose a reason from the list."),
    "justification": N_("Give a justification."),
    "mitigations": N_("Give at least one mitigation, one a line."),
    "expires_at": N_("Give the end date."),
}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _end_of(day: str) -> datetime | None:
    """The end date field (``YYYY-MM-DD``) as the end of that day in UTC."""
    try:
        return datetime.combine(date.fromisoformat(day), time(23, 59), tzinfo=UTC)
    except ValueError:
        return None


def _problem(request: Request, error: ValidationError) -> Refusal:
    _ = translator(request).gettext
    fields = [str(e["loc"][0]) for e in error.errors() if e["loc"]]
    known = [FIELD_PROBLEMS[f] for f in dict.fromkeys(fields) if f in FIELD_PROBLEMS]
    if not known:  # the model's own rule: devices or users, never the whole scope
        known = [N_("Name at least one device or user: a waiver never covers a whole scope.")]
    return Refusal(" ".join(_(m) for m in known))


@router.post("/determinations/{determination_id}/waivers")
def request_waiver(
    request: Request,
    principal: Reader,
    determination_id: int,
    reason: Annotated[str, Form(max_length=64)] = "",
    justification: Annotated[str, Form(max_length=20000)] = "",
    devices: Annotated[str, Form(max_length=100_000)] = "",
    users: Annotated[str, Form(max_length=100_000)] = "",
    mitigations: Annotated[str, Form(max_length=50_000)] = "",
    expires_on: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Ask for a waiver of a determination in force, and come back to its page."""
    if not allows(principal.role, Permission.request_waiver):
        raise ActionForbidden
    typed = {"reason": reason, "justification": justification, "devices": devices,
             "users": users, "mitigations": mitigations, "expires_on": expires_on}  # fmt: skip
    fields = {"reason": reason, "justification": justification.strip(),
              "devices": _lines(devices), "users": _lines(users),
              "mitigations": _lines(mitigations), "expires_at": _end_of(expires_on)}  # fmt: skip
    try:
        body = WaiverCreate.model_validate(fields)
    except ValidationError as error:
        return refused(request, principal, determination_id, 422, _problem(request, error),
                       **typed)  # fmt: skip
    context = context_of(request)
    try:
        with context.sessions() as session, session.begin():
            acting = Acting(session, context.clock, context.audit_key, context.settings, principal)
            service.request(acting, determination_id, body)
    except NotFound:
        raise DeterminationNotFound from None
    except DomainError as error:
        return refused(request, principal, determination_id, error.status,
                       refusal_of(request, error), **typed)  # fmt: skip
    target = f"/determinations/{determination_id}?done=waiver-requested"
    return RedirectResponse(target + "#waivers-heading", status_code=303)


def _decide(request: Request, principal: Reader, waiver_id: int, verb: str, note: str) -> Response:
    if not allows(principal.role, Permission.approve_waiver):
        raise ActionForbidden
    context = context_of(request)
    with context.reading() as session:
        try:
            determination_id = service.get(session, waiver_id).determination_id
        except NotFound:
            raise WaiverNotFound from None
    note = note.strip()
    if len(note) > NOTE_LIMIT or (verb == "revoke" and not note):
        _ = translator(request).gettext
        too_long = _("The note is too long: at most %(limit)s characters.")
        reason = too_long % {"limit": NOTE_LIMIT} if note else _("Give a note: why it is revoked.")
        return refused(request, principal, determination_id, 422, Refusal(reason))
    try:
        with context.sessions() as session, session.begin():
            acting = Acting(session, context.clock, context.audit_key, context.settings, principal)
            if verb == "approve":
                service.approve(acting, waiver_id, note=note or None)
            else:
                service.revoke(acting, waiver_id, note=note)
    except DomainError as error:
        return refused(request, principal, determination_id, error.status,
                       refusal_of(request, error))  # fmt: skip
    target = f"/determinations/{determination_id}?done=waiver-{verb}d"
    return RedirectResponse(target + "#waivers-heading", status_code=303)


class WaiverNotFound(DeterminationNotFound):
    detail = N_("There is no waiver with this number.")


@router.post("/waivers/{waiver_id}/approve")
def approve_waiver(
    request: Request, principal: Reader, waiver_id: int, note: Annotated[str, Form()] = ""
) -> Response:
    """Approve a requested waiver (not its requester), and come back to its determination."""
    return _decide(request, principal, waiver_id, "approve", note)


@router.post("/waivers/{waiver_id}/revoke")
def revoke_waiver(
    request: Request, principal: Reader, waiver_id: int, note: Annotated[str, Form()] = ""
) -> Response:
    """End a requested or active waiver now, with a note saying why."""
    return _decide(request, principal, waiver_id, "revoke", note)
