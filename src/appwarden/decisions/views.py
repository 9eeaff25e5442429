"""The determinations API: drafts, one route per lifecycle action, notices, replies.

Each lifecycle action is ``POST /determinations/{id}/{action}`` (``send-notice``,
``approve-interim``, ...), declared from the table in ``lifecycle.md`` with the permission
its *who* column names. Creating calls honour ``Idempotency-Key``.
"""

from __future__ import annotations

import inspect
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel

from appwarden.api.deps import ContextDep, PrincipalDep, SessionDep, guarded
from appwarden.api.documents import document_html
from appwarden.api.idempotency import idempotent
from appwarden.api.ids import PathId
from appwarden.api.pagination import Page, PageDep, paginate
from appwarden.api.problems import problems
from appwarden.auth.roles import Permission
from appwarden.decisions import notices, reads, service
from appwarden.decisions.lifecycle import Status, lifecycle
from appwarden.decisions.schemas import (
    Action,
    ApproveBody,
    DeterminationCreate,
    DeterminationDetail,
    DeterminationRead,
    DeterminationUpdate,
    NoticeBody,
    RenewBody,
    ReplyCreate,
    TransitionBody,
)
from appwarden.decisions.transitions import TransitionRequest, perform

router = APIRouter(tags=["determinations"])

TargetKind = Annotated[str | None, Query(pattern="^(app|pattern|publisher|signer)$")]
#: The body each action takes; the others take a note only.
BODIES: dict[str, type[TransitionBody]] = {
    "send_notice": NoticeBody,
    "approve": ApproveBody,
    "confirm": ApproveBody,
    "renew": RenewBody,
}


def acting(context: ContextDep, session: SessionDep, principal: PrincipalDep) -> service.Acting:
    return service.Acting(session, context.clock, context.audit_key, context.settings, principal)


@router.get("/determinations", responses=problems(422), **guarded(Permission.read))
def list_determinations(
    session: SessionDep,
    context: ContextDep,
    page: PageDep,
    status: Status | None = None,
    action: Action | None = None,
    target_kind: TargetKind = None,
) -> Page[DeterminationRead]:
    """Determinations, oldest first; ``status`` is the effective one (see lifecycle.md)."""
    now = context.clock.now()
    query = service.query(now=now, status=status, action=action, target_kind=target_kind)
    rows, total = paginate(session, query, page)
    items = [reads.read(session, d, now=now) for d in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/determinations/due-for-review", responses=problems(422), **guarded(Permission.read))
def due_for_review(
    session: SessionDep,
    context: ContextDep,
    page: PageDep,
    within_days: Annotated[int, Query(ge=0, le=3650)] = 30,
) -> Page[DeterminationRead]:
    """In force with a review date within ``within_days`` (or past), soonest first."""
    now = context.clock.now()
    rows, total = paginate(session, service.due_for_review(now=now, within_days=within_days), page)
    items = [reads.read(session, d, now=now) for d in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/determinations",
    status_code=status.HTTP_201_CREATED,
    response_model=DeterminationDetail,
    responses=problems(409, 422),
    **guarded(Permission.propose),
)
def create(
    body: DeterminationCreate,
    request: Request,
    session: SessionDep,
    context: ContextDep,
    principal: PrincipalDep,
) -> Response:
    """Create a draft. Send ``Idempotency-Key`` to make retries safe."""

    def make() -> BaseModel:
        created = service.create(acting(context, session, principal), body)
        return reads.detail(session, created, now=context.clock.now())

    payload = body.model_dump(mode="json")
    return idempotent(
        session,
        request=request,
        principal=principal,
        clock=context.clock,
        payload=payload,
        create=make,
    )


@router.get(
    "/determinations/{determination_id}", responses=problems(404), **guarded(Permission.read)
)
def get(determination_id: PathId, session: SessionDep, context: ContextDep) -> DeterminationDetail:
    """One determination with its effective status, evidence, timeline, notice, reply and
    waivers."""
    determination = service.get(session, determination_id)
    return reads.detail(session, determination, now=context.clock.now())


@router.patch(
    "/determinations/{determination_id}",
    responses=problems(404, 409, 422),
    **guarded(Permission.propose),
)
def update(
    determination_id: PathId,
    body: DeterminationUpdate,
    session: SessionDep,
    context: ContextDep,
    principal: PrincipalDep,
) -> DeterminationDetail:
    """Change a draft (only the fields sent). Any other status: 409."""
    changed = service.update(acting(context, session, principal), determination_id, body)
    return reads.detail(session, changed, now=context.clock.now())


def _notice(session: SessionDep, context: ContextDep, determination_id: int) -> notices.Notice:
    determination = service.get(session, determination_id)
    window = context.settings.reply_window_days
    return notices.build(session, determination, now=context.clock.now(), window_days=window)


@router.get(
    "/determinations/{determination_id}/notice.html",
    response_class=HTMLResponse,
    responses=problems(404),
    **guarded(Permission.read),
)
def notice_html(determination_id: PathId, session: SessionDep, context: ContextDep) -> HTMLResponse:
    """The vendor notice as printable HTML: as sent, or a marked draft before that."""
    determination = service.get(session, determination_id)
    if determination.notice_html is not None:
        return document_html(determination.notice_html)
    return document_html(notices.html(_notice(session, context, determination_id)))


@router.get(
    "/determinations/{determination_id}/notice.md",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}}}, **problems(404)},
    **guarded(Permission.read),
)
def notice_markdown(determination_id: PathId, session: SessionDep, context: ContextDep) -> Response:
    """The vendor notice as Markdown: as sent, or a marked draft before that."""
    determination = service.get(session, determination_id)
    text = determination.notice_markdown or notices.markdown(
        _notice(session, context, determination_id)
    )
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.post(
    "/determinations/{determination_id}/reply",
    status_code=status.HTTP_201_CREATED,
    response_model=DeterminationDetail,
    responses=problems(404, 409, 422),
    **guarded(Permission.propose),
)
def reply(
    determination_id: PathId,
    body: ReplyCreate,
    request: Request,
    session: SessionDep,
    context: ContextDep,
    principal: PrincipalDep,
) -> Response:
    """Record the vendor's reply to the notice (once)."""

    def make() -> BaseModel:
        done = service.record_reply(
            acting(context, session, principal),
            determination_id,
            text=body.text,
            received_at=body.received_at,
            sender=body.sender,
        )
        return reads.detail(session, done, now=context.clock.now())

    payload = body.model_dump(mode="json")
    return idempotent(
        session,
        request=request,
        principal=principal,
        clock=context.clock,
        payload=payload,
        create=make,
    )


def _body_parameter(model: type[TransitionBody]) -> inspect.Parameter:
    """The body parameter: optional (an empty POST is fine) unless a field is required."""
    required = any(f.is_required() for f in model.model_fields.values())
    return inspect.Parameter(
        "body",
        inspect.Parameter.KEYWORD_ONLY,
        annotation=model if required else Annotated[model | None, Body()],
        default=inspect.Parameter.empty if required else None,
    )


def _transition_route(action: str) -> None:
    body_model = BODIES.get(action, TransitionBody)
    rows = [r for r in lifecycle().transitions if r.action == action]
    sources = ", ".join(sorted({r.source.value for r in rows}))

    def transition(
        determination_id: PathId,
        request: Request,
        session: SessionDep,
        context: ContextDep,
        principal: PrincipalDep,
        *,
        body: TransitionBody | None = None,
    ) -> Response:
        given = body or body_model()

        def make() -> BaseModel:
            fields = TransitionRequest(**given.model_dump())
            done = perform(acting(context, session, principal), determination_id, action, fields)
            return reads.detail(session, done, now=context.clock.now())

        payload = given.model_dump(mode="json")
        return idempotent(
            session,
            request=request,
            principal=principal,
            clock=context.clock,
            payload=payload,
            create=make,
            status_code=status.HTTP_200_OK,
        )

    signature = inspect.signature(transition)
    parameters = [p for p in signature.parameters.values() if p.name != "body"]
    transition.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*parameters, _body_parameter(body_model)]
    )
    transition.__name__ = action
    transition.__doc__ = (
        f"`{action}` a determination that is {sources} (see docs/lifecycle.md for the "
        "conditions). Refused with 409 (status or conditions), 403 (role, separation of "
        "duties) or 422 (body)."
    )
    router.add_api_route(
        f"/determinations/{{determination_id}}/{action.replace('_', '-')}",
        transition,
        methods=["POST"],
        response_model=DeterminationDetail,
        responses=problems(404, 409, 422),
        **guarded(lifecycle().permission_of(action)),
    )


for _action in lifecycle().actions:
    _transition_route(_action)
