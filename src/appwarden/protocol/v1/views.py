"""Routes of the device protocol v1, mounted under ``/v1`` (not behind user tokens).

Every route is declared as a device route (``x-device`` in the OpenAPI document).
Enrollment is rate-limited per client address; every other route is signed
(:data:`~appwarden.protocol.v1.signing.DeviceDep`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import delete, func, select

from appwarden.api.deps import ContextDep, SessionDep
from appwarden.api.problems import problems
from appwarden.enforcement.service import current_policy
from appwarden.errors import RateLimited
from appwarden.fleet.enrollment import redeem_enrollment
from appwarden.fleet.membership import groups_of
from appwarden.protocol.models import EnrollmentAttempt
from appwarden.protocol.v1.schemas import (
    DeviceRecord,
    EnrollRequest,
    EnrollResponse,
    PolicyResponse,
)
from appwarden.protocol.v1.signing import DeviceDep

PREFIX = "/v1"
ENROLL_WINDOW = timedelta(minutes=15)
DEVICE_ROUTE = {"x-device": True}
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the policy still has the ETag sent."}
}

router = APIRouter(tags=["device protocol v1"])


def _count_attempt(context: ContextDep, address: str) -> None:
    """Record one enrollment attempt from ``address``, or 429 past the limit. Committed on
    its own, so failed attempts count too."""
    now = context.clock.now()
    with context.sessions() as session, session.begin():
        session.execute(
            delete(EnrollmentAttempt).where(
                EnrollmentAttempt.address == address, EnrollmentAttempt.at < now - ENROLL_WINDOW
            )
        )
        recent = session.scalar(
            select(func.count()).where(
                EnrollmentAttempt.address == address,
                EnrollmentAttempt.at >= now - ENROLL_WINDOW,
            )
        )
        if int(recent or 0) >= context.settings.enroll_limit:
            raise RateLimited("too many enrollment attempts from this address; wait 15 minutes")
        session.add(EnrollmentAttempt(address=address, at=now))


@router.post(
    "/enroll",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 422, 429),
    openapi_extra=DEVICE_ROUTE,
)
def enroll(body: EnrollRequest, request: Request, context: ContextDep) -> EnrollResponse:
    """Redeem an enrollment token with the device's public key; returns the device id."""
    address = (request.client.host if request.client else "unknown")[:64]
    _count_attempt(context, address)
    with context.sessions() as session, session.begin():
        device = redeem_enrollment(
            session,
            clock=context.clock,
            audit_key=context.audit_key,
            token=body.token,
            platform=body.platform,
            ownership=body.ownership,
            public_key_b64=body.public_key,
            department=body.department,
            user_name=body.user_name,
            supervised=body.supervised,
        )
        return EnrollResponse(device_id=device.id)


@router.get("/device", responses=problems(401), openapi_extra=DEVICE_ROUTE)
def own_record(device: DeviceDep, session: SessionDep) -> DeviceRecord:
    """The signing device's own record and the groups it is in."""
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


@router.get(
    "/policy",
    response_model=PolicyResponse,
    responses={**NOT_MODIFIED, **problems(401, 422)},
    openapi_extra=DEVICE_ROUTE,
)
def policy(
    device: DeviceDep,
    session: SessionDep,
    context: ContextDep,
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """The signing device's policy with its version; ``304`` if ``If-None-Match`` holds its
    current ETag."""
    compiled, version = current_policy(session, device, now=context.clock.now())
    etag = compiled.etag
    headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
    if _matches(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    body = PolicyResponse(version=version, etag=etag, policy=compiled.document())
    return JSONResponse(body.model_dump(mode="json"), headers=headers)
