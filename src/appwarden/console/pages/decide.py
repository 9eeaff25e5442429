"""The lifecycle's actions from the determination page: one POST form per action (works
without JavaScript; the CSRF token is checked where the console's routers are mounted).

Each form goes through the same service as ``POST /api/v1/determinations/{id}/{action}``
(its twin): the role's permission, every condition of ``lifecycle.md`` and separation of
duties are checked there. A refusal shows the page again with the reason; nothing changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appwarden.auth.roles import allows
from appwarden.auth.service import Principal
from appwarden.console.errors import ConsoleError
from appwarden.console.i18n import N_, translator
from appwarden.console.pages.determinations import (
    FORM_ACTIONS,
    DeterminationNotFound,
    Reader,
    detail_values,
    slug,
)
from appwarden.console.refusals import Refusal, explain
from appwarden.console.rendering import render
from appwarden.console.sessions import context_of
from appwarden.decisions.lifecycle import lifecycle
from appwarden.decisions.service import Acting
from appwarden.decisions.transitions import TransitionRequest, perform
from appwarden.errors import DomainError, NotFound

router = APIRouter()
NOTE_LIMIT = 5000


class UnknownAction(ConsoleError):
    status = 404
    title = N_("Page not found")
    detail = N_("There is no such action on a determination.")


class ActionForbidden(ConsoleError):
    status = 403
    title = N_("Not allowed")
    detail = N_("Your role may not take this action. Nothing was changed.")


def refused(
    request: Request,
    principal: Principal,
    determination_id: int,
    status: int,
    refusal: Refusal,
    **form: Any,
) -> Response:
    """The determination page again, saying why nothing changed (``form``: what the user
    had typed into the form that was refused, to fill it in again)."""
    values = detail_values(request, principal, determination_id)
    return render(
        request, "determination.html", status=status, principal=principal, done=None,
        refusal=refusal, form=form, page=f"/determinations/{determination_id}", **values,
    )  # fmt: skip


def refusal_of(request: Request, error: DomainError) -> Refusal:
    return explain(error, translator(request))


@router.post("/determinations/{determination_id}/{action}")
def take_action(
    request: Request,
    principal: Reader,
    determination_id: int,
    action: str,
    note: Annotated[str, Form()] = "",
    reply_considered: Annotated[bool, Form()] = False,
) -> Response:
    """Do ``action`` (``approve-interim``, ...) and come back to the page, or say why not."""
    name = action.replace("-", "_")
    if name not in FORM_ACTIONS:
        raise UnknownAction
    if not allows(principal.role, lifecycle().permission_of(name)):
        raise ActionForbidden
    _ = translator(request).gettext
    note = note.strip()
    if len(note) > NOTE_LIMIT:
        reason = _("The note is too long: at most %(limit)s characters.") % {"limit": NOTE_LIMIT}
        return refused(request, principal, determination_id, 422, Refusal(reason))
    context = context_of(request)
    fields = TransitionRequest(note=note or None, reply_considered=reply_considered)
    try:
        with context.sessions() as session, session.begin():
            acting = Acting(session, context.clock, context.audit_key, context.settings, principal)
            perform(acting, determination_id, name, fields)
    except NotFound:
        raise DeterminationNotFound from None
    except DomainError as error:
        return refused(
            request, principal, determination_id, error.status, refusal_of(request, error)
        )
    target = f"/determinations/{determination_id}?done={slug(name)}"
    return RedirectResponse(target, status_code=303)
