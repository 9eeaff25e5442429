"""Reading a partner file from a request: refused (413) by its declared or counted size
before a byte of it is parsed. The routes are exempt from the general body ceiling
(:data:`appwarden.api.limits.UPLOAD_PATHS`); this is theirs."""

from __future__ import annotations

from fastapi import Request
from starlette.exceptions import HTTPException

from appwarden.catalog.http import CappedUploadRoute


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the partner list is larger than {limit} bytes")


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, at most ``limit`` bytes (Content-Length checked first, then counted)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def partner_file(request: Request) -> bytes:
    """A dependency: the request body as the partner file."""
    return await read_capped(request, request.app.state.context.settings.partner_list_max_bytes)


#: Room for the multipart framing around the file in a console form.
FORM_OVERHEAD = 64 * 1024


class CappedPartnerRoute(CappedUploadRoute):
    """A console route taking a partner file in a form: a body larger than
    ``partner_list_max_bytes`` (and the form's framing) is refused before FastAPI parses
    the form; the handler checks the file's own size again."""

    limit_setting = "partner_list_max_bytes"
    overhead = FORM_OVERHEAD
