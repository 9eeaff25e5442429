"""The waivers API: request under a determination, approve, revoke, list."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from pydantic import BaseModel

from appwarden.api.deps import ContextDep, PrincipalDep, SessionDep, guarded
from appwarden.api.idempotency import idempotent
from appwarden.api.ids import PathId, QueryId
from appwarden.api.pagination import Page, PageDep, paginate
from appwarden.api.problems import problems
from appwarden.auth.roles import Permission
from appwarden.decisions.views import acting
from appwarden.waivers import service
from appwarden.waivers.schemas import State, WaiverCreate, WaiverDecision, WaiverRead, WaiverRevoke

router = APIRouter(tags=["waivers"])


@router.post(
    "/determinations/{determination_id}/waivers",
    status_code=status.HTTP_201_CREATED,
    response_model=WaiverRead,
    responses=problems(404, 409, 422),
    **guarded(Permission.request_waiver),
)
def request_waiver(
    determination_id: PathId,
    body: WaiverCreate,
    request: Request,
    session: SessionDep,
    context: ContextDep,
    principal: PrincipalDep,
) -> Response:
    """Request a waiver for named devices and/or users of a determination in force."""

    def make() -> BaseModel:
        waiver = service.request(acting(context, session, principal), determination_id, body)
        return service.read(session, waiver, now=context.clock.now())

    payload = body.model_dump(mode="json")
    return idempotent(
        session,
        request=request,
        principal=principal,
        clock=context.clock,
        payload=payload,
        create=make,
    )


@router.get("/waivers", responses=problems(422), **guarded(Permission.read))
def list_waivers(
    session: SessionDep,
    context: ContextDep,
    page: PageDep,
    determination_id: QueryId | None = None,
    state: State | None = None,
) -> Page[WaiverRead]:
    """Waivers, oldest first; ``state`` is the one that holds now (expired by the clock)."""
    now = context.clock.now()
    query = service.query(now=now, determination_id=determination_id, state=state)
    rows, total = paginate(session, query, page)
    items = [service.read(session, w, now=now) for w in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/waivers/{waiver_id}", responses=problems(404), **guarded(Permission.read))
def get_waiver(waiver_id: PathId, session: SessionDep, context: ContextDep) -> WaiverRead:
    return service.read(session, service.get(session, waiver_id), now=context.clock.now())


@router.post(
    "/waivers/{waiver_id}/approve",
    response_model=WaiverRead,
    responses=problems(404, 409, 422),
    **guarded(Permission.approve_waiver),
)
def approve_waiver(
    waiver_id: PathId,
    request: Request,
    session: SessionDep,
    context: ContextDep,
    principal: PrincipalDep,
    body: WaiverDecision | None = None,
) -> Response:
    """Approve a requested waiver; its requester may not (separation of duties)."""
    given = body or WaiverDecision()

    def make() -> BaseModel:
        waiver = service.approve(acting(context, session, principal), waiver_id, note=given.note)
        return service.read(session, waiver, now=context.clock.now())

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


@router.post(
    "/waivers/{waiver_id}/revoke",
    response_model=WaiverRead,
    responses=problems(404, 409, 422),
    **guarded(Permission.approve_waiver),
)
def revoke_waiver(
    waiver_id: PathId,
    body: WaiverRevoke,
    request: Request,
    session: SessionDep,
    context: ContextDep,
    principal: PrincipalDep,
) -> Response:
    """End a requested or active waiver now, with a note saying why."""

    def make() -> BaseModel:
        waiver = service.revoke(acting(context, session, principal), waiver_id, note=body.note)
        return service.read(session, waiver, now=context.clock.now())

    payload = body.model_dump(mode="json")
    return idempotent(
        session,
        request=request,
        principal=principal,
        clock=context.clock,
        payload=payload,
        create=make,
        status_code=status.HTTP_200_OK,
    )
