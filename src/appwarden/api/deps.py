"""What every request gets: the app's context, a unit of work, the signed-in principal.

Authentication is attached once, where routers are assembled (:mod:`appwarden.app`), so a
route is public only if it is put on the public router on purpose. Each protected route
also declares the permission it needs with :func:`guarded`, which shows in the OpenAPI
document as ``x-permission`` and is what docs/permissions.md is checked against.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from appwarden.audit.refusals import (
    PERMISSION_REFUSED,
    TOKEN_REFUSED,
    Refusal,
    Refusals,
)
from appwarden.auth.roles import Permission, allows
from appwarden.auth.service import Principal, principal_for_token
from appwarden.clock import Clock
from appwarden.config import Settings
from appwarden.db import database_trouble
from appwarden.errors import Forbidden, Unauthenticated

log = logging.getLogger(__name__)


@dataclass
class Context:
    """Everything a request handler may need besides its session."""

    settings: Settings
    clock: Clock
    engine: Engine
    sessions: sessionmaker[Session]
    audit_key: bytes
    #: Sessions for reads that write nothing: on SQLite they wait for no writer.
    readers: sessionmaker[Session] | None = None
    #: Refused attempts, aggregated into the audit chain (this process's counts).
    refusals: Refusals = field(init=False)

    def __post_init__(self) -> None:
        self.refusals = Refusals(sessions=self.sessions, key=self.audit_key, clock=self.clock)

    def reading(self) -> Session:
        """A session for reads only (the writing one where no separate reader exists)."""
        return (self.readers or self.sessions)()


def get_context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


ContextDep = Annotated[Context, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    """One request, one transaction: committed when the handler returns, else rolled back."""
    with context.sessions() as session, session.begin():
        yield session


# scope="function": the transaction commits before the response is sent, so a failed
# commit is the response (a 5xx), never a success the client was already told about.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def client_address(request: Request) -> str:
    """The client's address as refusals and rate limits record it."""
    return (request.client.host if request.client else "unknown")[:64]


def _route(request: Request) -> str:
    return f"{request.method} {request.url.path}"[:64]


def authenticated(request: Request, context: ContextDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    try:
        if scheme.lower() != "bearer" or not credentials:
            raise Unauthenticated("send an API token: Authorization: Bearer <token>")
        principal = _principal(context, credentials.strip())
    except Unauthenticated as refused:
        address = client_address(request)
        reason = "no token" if not credentials else "unknown, expired or revoked token"
        context.refusals.record(
            Refusal(
                actor=f"address:{address}",
                action=TOKEN_REFUSED,
                object_type="route",
                object_id=_route(request),
                reason=reason,
                details={"address": address, "detail": refused.detail},
            )
        )
        raise
    request.state.principal = principal
    return principal


def _principal(context: Context, credentials: str) -> Principal:
    """The token's principal, its last use recorded; on a full disk the use is not
    recorded, and the request goes on (reads still work; writes get their own 507)."""
    principal: Principal | None = None
    try:
        with context.sessions() as session, session.begin():
            principal = principal_for_token(session, clock=context.clock, clear=credentials)
    except DBAPIError as error:
        if principal is None or database_trouble(error) != "full":
            raise
        log.warning("a token's last use was not recorded: the disk is full")
    return principal


def current_principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # pragma: no cover - the router always authenticates first
        raise Unauthenticated("not signed in")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission) -> Any:
    def check(principal: PrincipalDep, request: Request, context: ContextDep) -> Principal:
        if not allows(principal.role, permission):
            context.refusals.record(
                Refusal(
                    actor=principal.actor,
                    action=PERMISSION_REFUSED,
                    object_type="route",
                    object_id=_route(request),
                    reason=f"the {principal.role.value} role lacks {permission.value}",
                    details={"role": principal.role.value, "permission": permission.value},
                ),
                subject=f"{principal.actor} {_route(request)}",
            )
            raise Forbidden(f"the {principal.role.value} role may not {permission.value}")
        return principal

    return Depends(check)


def guarded(permission: Permission) -> dict[str, Any]:
    """Route keyword arguments: the permission check, declared in the OpenAPI document."""
    return {
        "dependencies": [require(permission)],
        "openapi_extra": {"x-permission": permission.value},
    }
