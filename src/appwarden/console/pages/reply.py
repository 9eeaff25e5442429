"""The vendor's reply to the notice, recorded from the determination page: once, by
someone who may propose, while a notice is open. It goes through the decisions service as
its JSON twin does (``POST /api/v1/determinations/{id}/reply``); a refusal shows the page
again with the reason in the page's language and the form as typed; nothing changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appwarden.auth.roles import Permission, allows
from appwarden.console.i18n import translator
from appwarden.console.pages.decide import ActionForbidden, refusal_of, refused
from appwarden.console.pages.determinations import DeterminationNotFound, Reader
from appwarden.console.refusals import Refusal
from appwarden.console.sessions import context_of
from appwarden.decisions import service
from appwarden.decisions.service import Acting
from appwarden.errors import DomainError, NotFound

router = APIRouter()
TEXT_LIMIT = 100_000
SENDER_LIMIT = 200


def _received(value: str) -> datetime | None:
    """The ``datetime-local`` field, read as UTC (the page says so)."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


@router.post("/determinations/{determination_id}/reply")
def record_reply(
    request: Request,
    principal: Reader,
    determination_id: int,
    text: Annotated[str, Form()] = "",
    sender: Annotated[str, Form()] = "",
    received_at: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Record the vendor's reply and come back to the page."""
    if not allows(principal.role, Permission.propose):
        raise ActionForbidden
    _ = translator(request).gettext
    typed = {"reply_text": text, "reply_sender": sender, "reply_received_at": received_at}
    text, sender = text.strip(), sender.strip()
    received = _received(received_at) if received_at else None
    problem = None
    if not text:
        problem = _("Give the text of the reply.")
    elif len(text) > TEXT_LIMIT or len(sender) > SENDER_LIMIT:
        problem = _("The reply or its sender is too long.")
    elif received_at and received is None:
        problem = _("Give the date of receipt as a date and time.")
    if problem:
        return refused(request, principal, determination_id, 422, Refusal(problem), **typed)
    context = context_of(request)
    try:
        with context.sessions() as session, session.begin():
            acting = Acting(session, context.clock, context.audit_key, context.settings, principal)
            service.record_reply(
                acting,
                determination_id,
                text=text,
                received_at=received or context.clock.now(),
                sender=sender or None,
            )
    except NotFound:
        raise DeterminationNotFound from None
    except DomainError as error:
        return refused(request, principal, determination_id, error.status,
                       refusal_of(request, error), **typed)  # fmt: skip
    return RedirectResponse(f"/determinations/{determination_id}?done=reply-recorded",
                            status_code=303)  # fmt: skip
