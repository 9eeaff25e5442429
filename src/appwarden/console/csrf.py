"""CSRF: a synchronizer token bound to the session, checked on every state-changing request.

The token is HMAC-SHA256 keyed with the session cookie (or, before sign-in, the pre-session
cookie): a page from another site can neither read it nor compute it. Forms send it as the
hidden field ``csrf_token``; htmx sends it as the ``X-CSRF-Token`` header, which the base
layout puts on ``<body hx-headers=...>``. Every console router checks it (see
:data:`appwarden.console.pages.PROTECTED`), so a new page's POST routes are covered without
a line of their own. A refusal is audited, aggregated per client address
(:mod:`appwarden.audit.refusals`).
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from appwarden.api.deps import client_address
from appwarden.audit.refusals import CSRF_REFUSED, Refusal
from appwarden.console.errors import CsrfRefused
from appwarden.console.sessions import (
    PRESESSION_COOKIE,
    SESSION_COOKIE,
    context_of,
    csrf_binding,
)

FIELD = "csrf_token"
HEADER = "x-csrf-token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def token_for(binding: str) -> str:
    return hmac.new(binding.encode(), b"appwarden-console-csrf-v1", hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token for the forms of the page being rendered."""
    return token_for(csrf_binding(request))


async def check_csrf(request: Request) -> None:
    """Refuse (403) a state-changing request whose token is missing or wrong."""
    if request.method in _SAFE:
        return
    bound = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRESESSION_COOKIE)
    sent = request.headers.get(HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    if not bound or not sent or not hmac.compare_digest(sent, token_for(bound)):
        address = client_address(request)
        refusal = Refusal(
            actor=f"address:{address}",
            action=CSRF_REFUSED,
            object_type="route",
            object_id=f"{request.method} {request.url.path}"[:64],
            reason="missing token" if not sent else "wrong token",
            details={"address": address, "signed_in": bool(request.cookies.get(SESSION_COOKIE))},
        )
        await run_in_threadpool(context_of(request).refusals.record, refusal)
        raise CsrfRefused
