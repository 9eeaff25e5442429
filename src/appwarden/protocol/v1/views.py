"""Routes of the device protocol v1, mounted under ``/v1`` (not behind user tokens).

Every route is declared as a device route (``x-device`` in the OpenAPI document).
Enrollment is rate-limited per client address; every other route is signed
(:data:`~appwarden.protocol.v1.signing.DeviceDep`)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from pydantic import Field, TypeAdapter
from starlette.concurrency import run_in_threadpool

from appwarden.api.deps import Context, ContextDep, client_address
from appwarden.api.problems import problems
from appwarden.audit.refusals import ENROLLMENT_REFUSED, Refusal
from appwarden.enforcement.service import Current, current_version, document, stored_version
from appwarden.errors import DomainError, Invalid
from appwarden.fleet.enrollment import check
from appwarden.fleet.membership import groups_of
from appwarden.fleet.models import Device
from appwarden.protocol.v1.enrolling import Attempt, Enroller
from appwarden.protocol.v1.parking import Documents
from appwarden.protocol.v1.routing import DeviceRoute, parameter, served_by
from appwarden.protocol.v1.schemas import (
    DeviceRecord,
    EnrollRequest,
    EnrollResponse,
    PolicyResponse,
)
from appwarden.protocol.v1.signing import DeviceDep, PolicyDeviceDep, authenticate_for_policy
from appwarden.protocol.v1.wakeups import Distributor

PREFIX = "/v1"
MAX_WAIT = 300
DEVICE_ROUTE = {"x-device": True}
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the policy still has the ETag sent."}
}

router = APIRouter(prefix=PREFIX, tags=["device protocol v1"], route_class=DeviceRoute)


@router.post(
    "/enroll",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 409, 422, 429),
    openapi_extra=DEVICE_ROUTE,
)
async def enroll(body: EnrollRequest, request: Request) -> EnrollResponse:
    """Redeem an enrollment token with the device's public key; returns the device id.

    Concurrent enrollments are written in batches (see
    :mod:`~appwarden.protocol.v1.enrolling`); each answers for itself."""
    address = client_address(request)
    try:
        checked = Attempt(
            address,
            check(
                token=body.token,
                platform=body.platform,
                ownership=body.ownership,
                public_key_b64=body.public_key,
                department=body.department,
                user_name=body.user_name,
                supervised=body.supervised,
            ),
        )
    except Invalid as invalid:
        checked = Attempt(address, None, invalid)  # counts as an attempt all the same
    enroller: Enroller = request.app.state.enroller
    try:
        return EnrollResponse(device_id=await enroller.enroll(checked))
    except DomainError as refused:
        context: Context = request.app.state.context
        await run_in_threadpool(context.refusals.record, _enroll_refusal(checked, refused))
        raise


def _enroll_refusal(attempt: Attempt, refused: DomainError) -> Refusal:
    """The audit record of a refused enrollment; the token is named by the start of its
    SHA-256 (its clear value is never stored), aggregated per client address."""
    token = attempt.enrollment.token_sha256[:16] if attempt.enrollment else "unknown"
    return Refusal(
        actor=f"address:{attempt.address}",
        action=ENROLLMENT_REFUSED,
        object_type="enrollment_token",
        object_id=token,
        reason=refused.detail,
        details={"address": attempt.address, "status": refused.status},
    )


@router.get("/device", responses=problems(401), openapi_extra=DEVICE_ROUTE)
def own_record(device: DeviceDep, context: ContextDep) -> DeviceRecord:
    """The signing device's own record and the groups it is in."""
    with context.reading() as session, session.begin():
        groups = [group.name for group in groups_of(session, device)]
    return DeviceRecord(
        id=device.id,
        platform=device.platform,  # type: ignore[arg-type]
        ownership=device.ownership,  # type: ignore[arg-type]
        state=device.state,  # type: ignore[arg-type]
        groups=groups,
    )


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (quoted or not, weak or not)."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip().removeprefix("W/").strip('"')
        if tag in ("*", etag):
            return True
    return False


def _read(context: Context, documents: Documents, device: Device) -> tuple[Current, bytes]:
    """The device's current version and its document as JSON (in a worker thread): from a
    read-only snapshot when the stored version is current (the usual case), else in a
    writing transaction that recompiles first."""
    with context.reading() as session, session.begin():
        found = stored_version(session, device.id, now=context.clock.now())
        body = documents.get(found.etag) if found is not None else None
        if found is not None and body is None:
            stored = document(session, found.etag)
            body = None if stored is None else documents.put(found.etag, stored)
        if found is not None and body is not None:
            return found, body
    with context.sessions() as session, session.begin():
        current = current_version(session, device, now=context.clock.now())
        body = documents.get(current.etag)
        if body is None:
            stored = document(session, current.etag)
            if stored is None:  # pragma: no cover - a version always has its document
                raise LookupError(f"policy document {current.etag} is missing")
            body = documents.put(current.etag, stored)
    return current, body


def _answer(current: Current, body: bytes | None, if_none_match: str | None) -> Response:
    headers = {"ETag": f'"{current.etag}"', "Cache-Control": "no-cache"}
    if _matches(if_none_match, current.etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if body is None:  # pragma: no cover - only a confirmed (matching) ETag comes without one
        raise LookupError(f"policy document {current.etag} was not read")
    head = f'{{"version":{current.version},"etag":"{current.etag}","policy":'.encode()
    return Response(head + body + b"}", media_type="application/json", headers=headers)


_WAIT: TypeAdapter[int] = TypeAdapter(Annotated[int, Field(ge=0, le=MAX_WAIT)])
_IF_NONE_MATCH: TypeAdapter[str] = TypeAdapter(Annotated[str, Field(max_length=1000)])


async def _policy_arguments(request: Request) -> dict[str, Any]:
    """:func:`policy`'s arguments, as its signature declares them (see routing)."""
    device = await authenticate_for_policy(request)
    headers, query = request.headers, request.query_params
    return {
        "request": request,
        "device": device,
        "if_none_match": parameter(
            _IF_NONE_MATCH, headers.get("if-none-match"), ("header", "if-none-match")
        ),
        "wait": parameter(_WAIT, query.get("wait"), ("query", "wait")),
    }


@router.get(
    "/policy",
    response_model=PolicyResponse,
    responses={**NOT_MODIFIED, **problems(401, 422)},
    openapi_extra=DEVICE_ROUTE,
)
@served_by(_policy_arguments)  # below: the route is built when router.get is applied
async def policy(
    request: Request,
    device: PolicyDeviceDep,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
    wait: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_WAIT,
            description="Long-poll: with If-None-Match holding the current ETag, answer when "
            "the policy changes or after this many seconds (304).",
        ),
    ] = None,
) -> Response:
    """The signing device's policy with its version; ``304`` if ``If-None-Match`` holds its
    current ETag. With ``wait`` the request is held until the policy changes (200) or
    ``wait`` seconds pass (304)."""
    context: Context = request.app.state.context  # not a dependency: see DeviceDep
    distributor: Distributor = request.app.state.distributor
    documents = distributor.documents
    read = partial(_read, context, documents, device)
    # Read with the signature check, in its transaction: current unless something changed
    # since (then None, and the database is asked in a thread, as before).
    stored: Current | None = request.state.stored_policy
    if not wait or not if_none_match:
        body = documents.get(stored.etag) if stored is not None else None
        if stored is not None and body is not None:
            return _answer(stored, body, if_none_match)
        return _answer(*await run_in_threadpool(read), if_none_match)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    parked = distributor.parked
    with parked.park(device.id) as waiter:  # parked before reading: no change slips between
        # The version read with the signature check was read before parking: a change
        # distributed since then is in the distributor's map, with a greater version.
        # Without the map (a process that does not see every change) the database is read
        # after parking, as it must be.
        known = None
        if distributor.known_enabled:
            known = distributor.known.newest(device.id, context.clock.now())
            if stored is not None and (known is None or known.version < stored.version):
                known = stored
        body = documents.get(known.etag) if known is not None else None
        if known is not None and (body is not None or _matches(if_none_match, known.etag)):
            current = known  # no database read; waits below if the ETag sent is current
        else:
            current, body = await run_in_threadpool(read)
        while _matches(if_none_match, current.etag) and not parked.closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    await waiter.event.wait()
            except TimeoutError:
                break
            waiter.event.clear()
            if parked.closing:
                break
            woken, waiter.current = waiter.current, None
            cached = documents.get(woken.etag) if woken is not None else None
            if woken is not None and cached is not None:
                current, body = woken, cached  # told the new version: no database read
            else:
                current, body = await run_in_threadpool(read)
    return _answer(current, body, if_none_match)
