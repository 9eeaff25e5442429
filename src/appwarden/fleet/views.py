"""The fleet API for operators: device groups and their members, devices and their
lifecycle, enrollment tokens. Reads need ``read``; changes need ``fleet``. The devices'
own endpoints (``/v1/…``) are elsewhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse

from appwarden.api.deps import ContextDep, PrincipalDep, SessionDep, guarded
from appwarden.api.idempotency import Once
from appwarden.api.ids import MAX_ID, PathId, QueryId
from appwarden.api.pagination import Page, PageDep, paginate
from appwarden.api.problems import problems
from appwarden.audit.service import Acting
from appwarden.auth.roles import Permission
from appwarden.auth.service import Principal
from appwarden.compliance.devices import Verdict, verdict_clause
from appwarden.fleet import enrollment, service
from appwarden.fleet.models import EnrollmentToken
from appwarden.fleet.reads import device_detail, device_read, group_read
from appwarden.fleet.schemas import (
    DeviceDetail,
    DeviceRead,
    DeviceState,
    EnrollmentTokenCreate,
    EnrollmentTokenIssued,
    EnrollmentTokenRead,
    GroupCreate,
    GroupRead,
    GroupUpdate,
    MemberAdd,
    Ownership,
    Platform,
)

router = APIRouter(tags=["fleet"])


def acting(principal: Principal, context: ContextDep) -> Acting:
    return Acting(actor=principal.actor, audit_key=context.audit_key)


# --------------------------------------------------------------------- groups


@router.get("/groups", **guarded(Permission.read))
def list_groups(session: SessionDep, page: PageDep) -> Page[GroupRead]:
    """Device groups, oldest first."""
    rows, total = paginate(session, service.groups_query(), page)
    items = [group_read(session, g) for g in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/groups",
    response_model=GroupRead,
    responses=problems(409, 422),
    status_code=status.HTTP_201_CREATED,
    **guarded(Permission.fleet),
)
def create_group(
    body: GroupCreate,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> JSONResponse:
    """Add a device group, optionally with an attribute rule. Honours Idempotency-Key."""
    once = Once.of(request, principal, body.model_dump())
    hit = once.replay(session)
    if hit is not None:
        return hit
    group = service.create_group(
        session,
        clock=context.clock,
        acting=acting(principal, context),
        name=body.name,
        description=body.description,
        rule=body.rule.stored() if body.rule else None,
    )
    return once.remember(session, group_read(session, group), clock=context.clock)


@router.get("/groups/{group_id}", responses=problems(404), **guarded(Permission.read))
def get_group(group_id: PathId, session: SessionDep) -> GroupRead:
    """A device group with its rule and count of static members."""
    return group_read(session, service.get_group(session, group_id=group_id))


@router.patch("/groups/{group_id}", responses=problems(404, 409, 422), **guarded(Permission.fleet))
def update_group(
    group_id: PathId,
    body: GroupUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> GroupRead:
    """Rename, describe, or change the rule (``"rule": null`` removes it). A group named
    by a live determination keeps its name (409)."""
    changes: dict[str, Any] = {"name": body.name, "description": body.description}
    if "rule" in body.model_fields_set:
        changes["rule"] = body.rule.stored() if body.rule else None
    group = service.update_group(
        session,
        clock=context.clock,
        acting=acting(principal, context),
        group_id=group_id,
        **changes,
    )
    return group_read(session, group)


@router.delete(
    "/groups/{group_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(404, 409),
    **guarded(Permission.fleet),
)
def delete_group(
    group_id: PathId, principal: PrincipalDep, session: SessionDep, context: ContextDep
) -> Response:
    """Delete a group, its memberships and its enrollment tokens (409 while a live
    determination names it)."""
    service.delete_group(
        session, clock=context.clock, acting=acting(principal, context), group_id=group_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/groups/{group_id}/members",
    response_model=GroupRead,
    responses=problems(404, 409, 422),
    status_code=status.HTTP_201_CREATED,
    **guarded(Permission.fleet),
)
def add_member(
    group_id: PathId,
    body: MemberAdd,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> JSONResponse:
    """Put a device into the group by hand. Honours Idempotency-Key."""
    once = Once.of(request, principal, body.model_dump())
    hit = once.replay(session)
    if hit is not None:
        return hit
    group = service.add_member(
        session,
        clock=context.clock,
        acting=acting(principal, context),
        group_id=group_id,
        device_id=body.device_id,
    )
    return once.remember(session, group_read(session, group), clock=context.clock)


@router.delete(
    "/groups/{group_id}/members/{device_id}",
    responses=problems(404),
    **guarded(Permission.fleet),
)
def remove_member(
    group_id: PathId,
    device_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> GroupRead:
    """Take a device out of the group's static members (its rule may still match it)."""
    group = service.remove_member(
        session,
        clock=context.clock,
        acting=acting(principal, context),
        group_id=group_id,
        device_id=device_id,
    )
    return group_read(session, group)


# -------------------------------------------------------------------- devices


@router.get("/devices", responses=problems(404), **guarded(Permission.read))
def list_devices(
    session: SessionDep,
    page: PageDep,
    group_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="Members of this group: static and by rule."),
    ] = None,
    platform: Platform | None = None,
    ownership: Ownership | None = None,
    state: DeviceState | None = None,
    compliance: Annotated[
        Verdict | None, Query(description="Overall verdict; unjudged: never judged yet.")
    ] = None,
    source: Annotated[
        str | None,
        Query(max_length=32, description="agent, or an MDM: intune, amapi, apple-mdm."),
    ] = None,
) -> Page[DeviceRead]:
    """Devices, in order of enrollment, filtered by group, platform, ownership, state,
    source or overall compliance."""
    query = service.devices_query(
        session,
        group_id=group_id,
        platform=platform,
        ownership=ownership,
        state=state,
        source=source,
    )
    if compliance is not None:
        query = query.where(verdict_clause(compliance))
    rows, total = paginate(session, query, page)
    items = [device_read(d) for d in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/devices/{device_id}", responses=problems(404), **guarded(Permission.read))
def get_device(device_id: str, session: SessionDep) -> DeviceDetail:
    """A device with its key and every group it is in (static and by rule)."""
    return device_detail(session, service.get_device(session, device_id=device_id))


def _lifecycle_route(path: str, action: Any, summary: str) -> None:
    @router.post(
        f"/devices/{{device_id}}/{path}",
        responses=problems(404, 409),
        summary=summary,
        name=f"device_{path.replace('-', '_')}",
        **guarded(Permission.fleet),
    )
    def change(
        device_id: str, principal: PrincipalDep, session: SessionDep, context: ContextDep
    ) -> DeviceDetail:
        device = action(
            session, clock=context.clock, acting=acting(principal, context), device_id=device_id
        )
        return device_detail(session, device)


_lifecycle_route("retire", service.retire, "Retire a device for good")
_lifecycle_route("lost", service.report_lost, "Report a device lost")
_lifecycle_route("revoke-key", service.revoke_key, "Revoke a device's key")


# ---------------------------------------------------------- enrollment tokens


@router.get("/enrollment-tokens", **guarded(Permission.read))
def list_enrollment_tokens(
    session: SessionDep, page: PageDep, group_id: QueryId | None = None
) -> Page[EnrollmentTokenRead]:
    """Enrollment tokens with their uses; never their values."""
    rows, total = paginate(session, enrollment.tokens_query(group_id=group_id), page)
    items = [EnrollmentTokenRead.model_validate(t) for t in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/enrollment-tokens",
    response_model=EnrollmentTokenIssued,
    responses=problems(404, 422),
    status_code=status.HTTP_201_CREATED,
    **guarded(Permission.fleet),
)
def create_enrollment_token(
    body: EnrollmentTokenCreate,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> JSONResponse:
    """A token that enrolls devices into one group, shown once. Honours Idempotency-Key:
    a replay returns the same token's row with ``token: null`` (the value is never stored)."""
    once = Once.of(request, principal, body.model_dump())
    hit = once.replay(session)
    if hit is not None:
        return hit
    token, clear = enrollment.create_token(
        session,
        clock=context.clock,
        acting=acting(principal, context),
        group_id=body.group_id,
        expires_in=timedelta(hours=body.expires_in_hours),
        max_uses=body.max_uses,
    )
    stored = _issued(token, None)
    once.remember(session, stored, clock=context.clock)
    return JSONResponse(_issued(token, clear).model_dump(mode="json"), status_code=201)


@router.post(
    "/enrollment-tokens/{token_id}/revoke",
    responses=problems(404, 409),
    **guarded(Permission.fleet),
)
def revoke_enrollment_token(
    token_id: PathId, principal: PrincipalDep, session: SessionDep, context: ContextDep
) -> EnrollmentTokenRead:
    """Revoke an enrollment token: it enrolls no more devices; those it enrolled stay."""
    token = enrollment.revoke_token(
        session, clock=context.clock, acting=acting(principal, context), token_id=token_id
    )
    return EnrollmentTokenRead.model_validate(token)


def _issued(token: EnrollmentToken, clear: str | None) -> EnrollmentTokenIssued:
    return EnrollmentTokenIssued(
        **EnrollmentTokenRead.model_validate(token).model_dump(), token=clear
    )
