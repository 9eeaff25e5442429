"""A ceiling on every request body, uploads aside.

Routes that take JSON or a small form (the REST API, the device protocol, the console's
forms) accept at most ``body_max_bytes`` (1 MiB by default): a larger declared
Content-Length is refused on the first read, and a chunked body is counted as it arrives,
so an oversized body is never held in memory whole nor parsed. Uploads of app files have
their own, larger ceiling (``upload_max_bytes``, :mod:`appwarden.catalog.http`).

The refusal is a 413, raised as an ``HTTPException`` from the body's ``receive``: FastAPI
and Starlette pass it through to the problem (or console page) handlers unchanged.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Paths whose bodies are app files: capped by ``upload_max_bytes`` on their routes.
UPLOAD_PATHS = frozenset({"/api/v1/apps/upload", "/apps/upload"}) | frozenset(
    # Partner lists: capped by ``partner_list_max_bytes`` on their routes.
    {"/api/v1/partner-lists/import", "/api/v1/partner-lists/compare", "/partners/compare"}
)
#: Paths (by prefix) whose bodies are MDM inventories: capped by ``inventory_max_bytes``.
UPLOAD_PREFIXES = ("/api/v1/inventories/",)


class BodyLimit:
    """ASGI middleware: refuse (413) a body over ``limit`` bytes on any path but uploads."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in UPLOAD_PATHS or path.startswith(UPLOAD_PREFIXES):
            await self.app(scope, receive, send)
            return
        limit = self.limit
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        too_large = declared.isdigit() and int(declared) > limit
        seen = 0

        async def capped() -> Message:
            nonlocal seen
            if too_large:
                raise _too_large(limit)
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _too_large(limit)
            return message

        await self.app(scope, capped, send)


def capped(request: Request, limit: int) -> Request:
    """``request``, reading at most ``limit`` bytes of body: a larger declared
    Content-Length is refused at once, a chunked body as it passes ``limit`` (413)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    seen = 0

    async def receive() -> Message:
        nonlocal seen
        message = await request.receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise _too_large(limit)
        return message

    return Request(request.scope, receive)


def _too_large(limit: int) -> HTTPException:
    # An HTTPException: FastAPI turns anything else raised while reading a body into 400.
    return HTTPException(413, f"the request body is larger than {limit} bytes")
