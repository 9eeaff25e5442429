"""Console sign-in: a session cookie that stands for an API token of the signed-in user.

Signing in goes through the same auth service as ``POST /api/v1/auth/token`` (password,
TOTP for approvers and admins, the per-user-name limit on failed sign-ins) and issues a
token named ``console`` that lives ``APPWARDEN_SESSION_MINUTES``. The cookie holds the
token; the database holds only its SHA-256, so a session shows in the user's token list
and ends when it expires, is revoked, or the user signs out.

Cookies are HttpOnly and SameSite=Lax, and Secure over https (``APPWARDEN_COOKIE_SECURE``).
A visitor who is not signed in gets a random pre-session cookie, which the sign-in form's
CSRF token is bound to (see :mod:`appwarden.console.csrf`).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from appwarden.api.deps import Context, client_address
from appwarden.audit import service as audit
from appwarden.auth import service as auth
from appwarden.auth.service import Principal
from appwarden.config import Settings
from appwarden.errors import DomainError, Unauthenticated

SESSION_COOKIE = "appwarden_session"
PRESESSION_COOKIE = "appwarden_presession"
SESSION_TOKEN_NAME = "console"  # noqa: S105 - the name of the token, not a secret


def context_of(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


def secure_cookies(request: Request, settings: Settings) -> bool:
    if settings.cookie_secure == "always":
        return True
    if settings.cookie_secure == "never":
        return False
    return request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int | None
) -> None:
    """A cookie the page's scripts cannot read, not sent on cross-site subrequests."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, context_of(request).settings),
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, context_of(request).settings),
    )


def current_principal(request: Request) -> Principal | None:
    """Who the session cookie stands for, or None (no cookie, or an ended session: then
    ``request.state.session_ended`` is set so the sign-in page can say so)."""
    if hasattr(request.state, "console_principal"):
        cached: Principal | None = request.state.console_principal
        return cached
    principal = None
    clear = request.cookies.get(SESSION_COOKIE)
    if clear:
        context = context_of(request)
        try:
            with context.sessions() as session, session.begin():
                principal = auth.principal_for_token(session, clock=context.clock, clear=clear)
        except Unauthenticated:
            request.state.session_ended = True
    request.state.console_principal = principal
    return principal


def sign_in(
    request: Request, *, username: str, password: str, totp: str | None
) -> tuple[Principal, str, int]:
    """Check the credentials and open a session: (principal, cookie value, max age in s).

    Raises the auth service's errors (wrong credentials, too many attempts); a failure is
    counted against the user name in a transaction of its own, as the REST sign-in does."""
    context = context_of(request)
    settings, clock = context.settings, context.clock
    lifetime = timedelta(minutes=settings.session_minutes)
    try:
        with context.sessions() as session, session.begin():
            user = auth.check_credentials(
                session,
                clock=clock,
                username=username,
                password=password,
                totp=totp or None,
                limit=settings.sign_in_limit,
            )
            token, clear = auth.issue_token(
                session, clock=clock, user=user, name=SESSION_TOKEN_NAME, days=1, lifetime=lifetime
            )
            audit.append(
                session,
                key=context.audit_key,
                clock=clock,
                actor=user.username,
                action="session.start",
                object_type="token",
                object_id=token.id,
                after={"name": token.name, "expires_at": token.expires_at.isoformat()},
            )
            principal = auth.principal_for_token(session, clock=clock, clear=clear)
    except DomainError as refused:
        with context.sessions() as session, session.begin():
            auth.record_failure(session, clock=clock, username=username)
        address = client_address(request)
        context.refusals.record(
            auth.sign_in_refusal(username=username, error=refused, address=address, via="console")
        )
        raise
    return principal, clear, int(lifetime.total_seconds())


def sign_out(request: Request) -> None:
    """End the session the cookie holds (revoke its token), if any."""
    clear = request.cookies.get(SESSION_COOKIE)
    if not clear:
        return
    context = context_of(request)
    with context.sessions() as session, session.begin():
        token = auth.revoke_by_value(session, clock=context.clock, clear=clear)
        if token is not None:
            audit.append(
                session,
                key=context.audit_key,
                clock=context.clock,
                actor=token.user.username,
                action="session.end",
                object_type="token",
                object_id=token.id,
            )


def csrf_binding(request: Request) -> str:
    """The secret the CSRF token is bound to: the session cookie, else a pre-session one
    (made now, and set on the response by the renderer, for a first visit)."""
    bound = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRESESSION_COOKIE)
    if bound:
        return bound
    fresh: str | None = getattr(request.state, "new_presession", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.new_presession = fresh
    return fresh
