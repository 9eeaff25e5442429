"""Who may open a page: signed in (else to the sign-in page), and a role that holds the
page's permission (else a 403 page). Pages declare it once, as a dependency."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request

from appwarden.audit.refusals import PERMISSION_REFUSED, Refusal
from appwarden.auth.roles import Permission, allows
from appwarden.auth.service import Principal
from appwarden.console.errors import PageForbidden, SignInRequired
from appwarden.console.rendering import here
from appwarden.console.sessions import context_of, current_principal


def signed_in(request: Request) -> Principal:
    principal = current_principal(request)
    if principal is None:
        raise SignInRequired(here(request))
    return principal


SignedIn = Annotated[Principal, Depends(signed_in)]


def allowed(permission: Permission) -> Any:
    """A dependency: the signed-in principal, if their role holds ``permission``."""

    def check(principal: SignedIn, request: Request) -> Principal:
        if not allows(principal.role, permission):
            route = f"{request.method} {request.url.path}"[:64]
            context_of(request).refusals.record(
                Refusal(
                    actor=principal.actor,
                    action=PERMISSION_REFUSED,
                    object_type="page",
                    object_id=route,
                    reason=f"the {principal.role.value} role lacks {permission.value}",
                    details={"role": principal.role.value, "permission": permission.value},
                ),
                subject=f"{principal.actor} {route}",
            )
            raise PageForbidden
        return principal

    return Depends(check)
