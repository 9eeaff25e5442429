"""HTTP plumbing the catalog views share: idempotent creation and the upload size cap."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, status
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.types import Message

from appwarden.api.idempotency import fingerprint, key_of, remember, replay
from appwarden.auth.service import Principal
from appwarden.clock import Clock

#: Room for the multipart framing and the form fields around the uploaded file itself.
FORM_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class Once:
    """One creating request under its ``Idempotency-Key`` (if the client sent one)."""

    key: str | None
    route: str
    digest: str
    principal: Principal

    @classmethod
    def of(cls, request: Request, principal: Principal, payload: Any) -> Once:
        route = f"{request.method} {request.url.path}"
        return cls(key_of(request), route, fingerprint(payload), principal)

    def replay(self, session: Session) -> JSONResponse | None:
        """The first response, if this key was used before (422 if for another body)."""
        return replay(
            session, key=self.key, principal=self.principal, route=self.route, digest=self.digest
        )

    def remember(self, session: Session, body: BaseModel, *, clock: Clock) -> JSONResponse:
        """Store ``body`` as the 201 response for this key; return it as that response."""
        content = body.model_dump(mode="json")
        remember(
            session,
            key=self.key,
            principal=self.principal,
            route=self.route,
            digest=self.digest,
            status=status.HTTP_201_CREATED,
            body=content,
            clock=clock,
        )
        return JSONResponse(content, status_code=status.HTTP_201_CREATED)


def idempotent(
    session: Session,
    *,
    request: Request,
    principal: Principal,
    clock: Clock,
    payload: Any,
    create: Callable[[], BaseModel],
) -> JSONResponse:
    """Run ``create`` once per ``Idempotency-Key``: a retry gets the first response, in
    the same transaction as the effect (so the record exists only if the effect does)."""
    once = Once.of(request, principal, payload)
    hit = once.replay(session)
    if hit is not None:
        return hit
    return once.remember(session, create(), clock=clock)


class CappedUploadRoute(APIRoute):
    """Refuse a request body larger than ``upload_max_bytes`` before it is parsed.

    FastAPI parses a multipart body (spooling files to disk) before the handler runs; this
    route checks Content-Length first and counts a chunked body as it arrives, so an
    oversized upload costs neither memory nor much disk. The handler counts the file too."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def capped(request: Request) -> Response:
            limit = request.app.state.context.settings.upload_max_bytes + FORM_OVERHEAD
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

            return await handler(Request(request.scope, receive))

        return capped


def _too_large(limit: int) -> HTTPException:
    # An HTTPException: FastAPI turns anything else raised while parsing a body into 400.
    return HTTPException(413, f"the request body is larger than {limit} bytes")
