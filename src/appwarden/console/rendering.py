"""Rendering pages: one Jinja2 environment (autoescape on, i18n), the shared layout's
values, and the security headers every console page carries."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from appwarden.auth.service import Principal
from appwarden.console import i18n
from appwarden.console.assets import Assets
from appwarden.console.csrf import csrf_token
from appwarden.console.nav import ROLE_LABELS, NavItem, visible
from appwarden.console.sessions import PRESESSION_COOKIE, current_principal, set_cookie

TEMPLATES = Path(__file__).parent / "templates"

#: Scripts and styles from this server only; no inline script, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@functools.cache
def make_environment() -> Environment:
    """The one template environment of the process (built on first use; templates are
    compiled once however many apps are built, and translations come per render)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext_current, ngettext=i18n.ngettext_current, newstyle=True
    )
    return environment


def here(request: Request) -> str:
    """This page's path and query, to come back to (after signing in, switching language)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(target: str | None) -> str:
    """A local path to go to next: anything else (another site, ``//host``) goes home."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _layout(request: Request, principal: Principal | None, page: str | None) -> dict[str, Any]:
    state = request.app.state
    assets: Assets = state.console_assets
    items: list[NavItem] = state.console_nav
    language = i18n.language_of(request)
    back = quote(page or here(request), safe="")
    return {
        "lang": language,
        "languages": [
            {"code": code, "name": name, "href": f"/language/{code}?next={back}"}
            for code, name in i18n.LANGUAGES.items()
        ],
        "principal": principal,
        "role_label": ROLE_LABELS[principal.role] if principal else "",
        "nav": visible(items, principal),
        "path": request.url.path,
        "csrf_token": csrf_token(request),
        "assets": assets,
    }


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    principal: Principal | None = None,
    page: str | None = None,
    **values: Any,
) -> HTMLResponse:
    """The page ``template`` in the request's language, in the shared layout. ``page``: the
    address of what is shown, where it is not the request's (a form's answer shown at the
    address it was posted to), for the language switch to come back to."""
    principal = principal or current_principal(request)
    environment: Environment = request.app.state.console_templates
    context = {**_layout(request, principal, page), **values}
    token = i18n.current.set(i18n.translator(request))
    try:
        body = environment.get_template(template).render(context)
    finally:
        i18n.current.reset(token)
    response = HTMLResponse(body, status_code=status, headers=HEADERS)
    response.headers["Content-Language"] = context["lang"]
    fresh = getattr(request.state, "new_presession", None)
    if fresh is not None:
        set_cookie(response, request, PRESESSION_COOKIE, fresh, max_age=None)
    return response
