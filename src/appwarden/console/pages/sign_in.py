"""Signing in and out, and the language switch.

JSON twin: ``POST /api/v1/auth/token`` (the same credentials, checks and limit)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appwarden.console import i18n, sessions
from appwarden.console.errors import ConsoleError
from appwarden.console.i18n import N_, translator
from appwarden.console.rendering import render, safe_next
from appwarden.errors import DomainError, RateLimited

router = APIRouter()

_TOTP = re.compile(r"^\d{6}$")
_YEAR = 365 * 24 * 3600


class UnknownLanguage(ConsoleError):
    status = 404
    title = N_("Page not found")
    detail = N_("This language is not available.")


def _form(
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    username: str = "",
    next_page: str = "/",
) -> Response:
    return render(
        request,
        "sign_in.html",
        status=status,
        error=error,
        notice=notice,
        username=username,
        next_page=safe_next(next_page),
    )


@router.get("/sign-in")
def sign_in_page(
    request: Request, next: str = "/", ended: bool = False, signed_out: bool = False
) -> Response:
    """The sign-in form (or, for someone signed in, where they were going)."""
    if sessions.current_principal(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    _ = translator(request).gettext
    notice = None
    if ended or getattr(request.state, "session_ended", False):
        notice = _("Your session has ended. Sign in again.")
    elif signed_out:
        notice = _("You are signed out.")
    response = _form(request, notice=notice, next_page=next)
    if request.cookies.get(sessions.SESSION_COOKIE):
        sessions.clear_cookie(response, request, sessions.SESSION_COOKIE)
    return response


def _refusal(request: Request, username: str, password: str, totp: str) -> str | None:
    _ = translator(request).gettext
    if not username.strip() or not password:
        return _("Enter your user name and password.")
    if len(username) > 64 or len(password) > 1024:
        return _("The user name or password is too long.")
    if totp and not _TOTP.match(totp):
        return _("The code from your authenticator app has six digits.")
    return None


@router.post("/sign-in")
def sign_in(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    totp: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the credentials; on success set the session cookie and go on."""
    _ = translator(request).gettext
    totp = totp.strip()
    refusal = _refusal(request, username, password, totp)
    if refusal:
        return _form(request, status=422, error=refusal, username=username[:64], next_page=next)
    try:
        _principal, clear, max_age = sessions.sign_in(
            request, username=username, password=password, totp=totp or None
        )
    except RateLimited:
        error = _("Too many failed sign-ins for this user name. Wait 15 minutes and try again.")
        return _form(request, status=429, error=error, username=username, next_page=next)
    except DomainError:
        error = _("Wrong user name, password or code.")
        return _form(request, status=401, error=error, username=username, next_page=next)
    response = RedirectResponse(safe_next(next), status_code=303)
    sessions.set_cookie(response, request, sessions.SESSION_COOKIE, clear, max_age=max_age)
    sessions.clear_cookie(response, request, sessions.PRESESSION_COOKIE)
    return response


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    """End the session (its token is revoked) and forget the cookie."""
    sessions.sign_out(request)
    response = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    sessions.clear_cookie(response, request, sessions.SESSION_COOKIE)
    return response


@router.get("/language/{code}")
def switch_language(request: Request, code: str, next: str = "/") -> Response:
    """Remember the chosen language (a cookie; nothing changes on the server) and go back."""
    if code not in i18n.LANGUAGES:
        raise UnknownLanguage
    response = RedirectResponse(safe_next(next), status_code=303)
    sessions.set_cookie(response, request, i18n.LANGUAGE_COOKIE, code, max_age=_YEAR)
    return response
