"""Errors as ``application/problem+json`` (RFC 9457), declared in the OpenAPI document."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from appwarden.db import database_trouble
from appwarden.errors import DomainError

log = logging.getLogger(__name__)
PROBLEM_MEDIA = "application/problem+json"
TYPE_BASE = "urn:appwarden:problem:"


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


#: What FastAPI says (as a 400) of a body it cannot decode or parse as a form.
UNPARSEABLE = "There was an error parsing the body"

#: Devices (``/v1/…``) authenticate by signing each request, people with a bearer token.
DEVICE_CHALLENGE = 'AppWarden-Signature realm="devices"'


def _challenge(request: Request) -> str:
    return DEVICE_CHALLENGE if request.url.path.startswith("/v1/") else "Bearer"


def problem_response(
    request: Request, status: int, kind: str, title: str, detail: str | None, **extra: Any
) -> JSONResponse:
    body = {
        "type": TYPE_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": _challenge(request)} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA, headers=headers)


_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid", "Invalid request"),
    429: ("rate-limited", "Too many requests"),
    502: ("upstream-failed", "Upstream service failed"),
    503: ("database-unavailable", "Database unavailable"),
    507: ("storage-full", "Insufficient storage"),
}

_TROUBLE = {
    "full": (507, "the server's storage is full; nothing was recorded. Try again later."),
    "unavailable": (503, "the database is unavailable; nothing was recorded. Try again shortly."),
}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError) -> JSONResponse:
        return problem_response(
            request, error.status, error.kind, error.title, error.detail, **error.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in error.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem_response(request, 422, "invalid", "Invalid request", detail, errors=errors)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, error: DBAPIError) -> JSONResponse:
        trouble = database_trouble(error)
        if trouble is None:
            raise error
        status, detail = _TROUBLE[trouble]
        log.warning("%s %s: %d (%s)", request.method, request.url.path, status, error.orig)
        kind, title = _TITLES[status]
        answer = problem_response(request, status, kind, title, detail)
        if status == 503:
            answer.headers["Retry-After"] = "1"
        return answer

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:
            # Only the framework raises these: a body that is not UTF-8 JSON, or a form that
            # is not valid multipart. Invalid input, as a malformed JSON document already
            # is (422), and as every route with a body declares.
            detail = "the request body could not be parsed: send UTF-8 JSON (or a form)"
            if error.detail != UNPARSEABLE:
                detail = f"the request body could not be parsed: {error.detail}"
            return problem_response(request, 422, "invalid", "Invalid request", detail)
        kind, title = _TITLES.get(error.status_code, ("error", "Error"))
        return problem_response(request, error.status_code, kind, title, str(error.detail))


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring the problem documents a route can return."""
    return {
        status: {
            "model": Problem,
            "description": _TITLES.get(status, ("error", "Error"))[1],
            "content": {PROBLEM_MEDIA: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
