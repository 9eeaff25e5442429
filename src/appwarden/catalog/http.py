"""HTTP plumbing the catalog views share: idempotent creation and the upload size cap."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from appwarden.api.limits import capped as limited

#: Room for the multipart framing and the form fields around the uploaded file itself.
FORM_OVERHEAD = 64 * 1024


class CappedUploadRoute(APIRoute):
    """Refuse a request body larger than ``upload_max_bytes`` before it is parsed.

    FastAPI parses a multipart body (spooling files to disk) before the handler runs; this
    route checks Content-Length first and counts a chunked body as it arrives, so an
    oversized upload costs neither memory nor much disk. The handler counts the file too.
    Subclasses name another setting for the limit, and the room around the file."""

    limit_setting = "upload_max_bytes"
    overhead = FORM_OVERHEAD

    @classmethod
    def body_limit(cls, settings: object) -> int:
        """The largest body accepted, under ``settings``."""
        return int(getattr(settings, cls.limit_setting)) + cls.overhead

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        body_limit = self.body_limit

        async def capped(request: Request) -> Response:
            limit = body_limit(request.app.state.context.settings)
            return await handler(limited(request, limit))

        return capped
