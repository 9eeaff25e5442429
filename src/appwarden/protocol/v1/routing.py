"""The device protocol's hot routes, served without FastAPI's per-request machinery.

Every device of a fleet checks in (``GET /v1/policy``) and reports (``POST /v1/state``),
and around a ban all of them do so at once. For a 304 check-in, FastAPI's own work per
request cost more of the server's CPU than the protocol's: matching the path through an
included router twice, solving the dependency tree, reading cookies no device sends,
entering two exit stacks (docs/benchmarks.md, "FastAPI's work per device request").

A :class:`DeviceRoute` keeps what FastAPI builds once per route (the OpenAPI description,
from the endpoint's signature; the route's template for metrics) and, for an endpoint
marked with :func:`served_by`, answers each request by calling the endpoint with the
arguments a hand-written function read from the request: the same checks in the same
order (the signature first, then the parameters), and the same errors, as
``RequestValidationError`` with FastAPI's locations (``query.wait``, ``body.report_id``),
answered by the app's problem handlers. Other endpoints are served as FastAPI serves them.

The routes are added to the app's own router (:func:`mount`), not included as a router:
an included router is matched twice per request, and the fleet's requests come first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.background import BackgroundTasks
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from appwarden.api.problems import UNPARSEABLE

#: Reads an endpoint's arguments from the request (raising as FastAPI would).
Arguments = Callable[[Request], Awaitable[dict[str, Any]]]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_ARGUMENTS = "__device_arguments__"


def served_by(arguments: Arguments) -> Callable[[Endpoint], Endpoint]:
    """Mark an async endpoint to be called with ``arguments(request)``, not with the
    arguments FastAPI would resolve from its signature (which still documents it)."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _ARGUMENTS, arguments)
        return endpoint

    return mark


def arguments_of(endpoint: Callable[..., Any]) -> Arguments | None:
    """The reader ``endpoint`` was marked with, if any."""
    found: Arguments | None = getattr(endpoint, _ARGUMENTS, None)
    return found


class DeviceRoute(APIRoute):
    """An ``APIRoute`` whose endpoint, if marked with :func:`served_by`, is served lean."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().__init__(path, endpoint, **options)
        arguments = arguments_of(endpoint)
        if arguments is not None:
            self.app = self._serve(arguments)

    def _serve(self, arguments: Arguments) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        endpoint = self.endpoint
        status_code = self.status_code or 200

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            request = Request(scope, receive, send)
            values = await arguments(request)
            answer = await endpoint(**values)
            if isinstance(answer, Response):
                response = answer
            elif isinstance(answer, BaseModel):
                response = Response(
                    answer.model_dump_json(), status_code, media_type="application/json"
                )
            else:  # pragma: no cover - a programming error, caught by the protocol tests
                raise TypeError(f"{endpoint.__name__} returned {type(answer).__name__}")
            if response.background is None:
                response.background = next(
                    (v for v in values.values() if isinstance(v, BackgroundTasks)), None
                )
            await response(scope, receive, send)

        return app


def mount(app: FastAPI, routes: Iterable[BaseRoute]) -> None:
    """Add ``routes`` (already under their full paths) to ``app``'s own router, in order."""
    for route in routes:
        app.router.routes.append(route)


def _invalid(place: tuple[str, ...], error: ValidationError) -> RequestValidationError:
    """``error`` as FastAPI reports a parameter or body: located under ``place``."""
    return RequestValidationError(
        [{**e, "loc": (*place, *e["loc"])} for e in error.errors(include_url=False)]
    )


def parameter(adapter: TypeAdapter[Any], value: str | None, place: tuple[str, str]) -> Any:
    """A query or header value checked by ``adapter`` (None when absent): 422 if invalid."""
    if value is None:
        return None
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        raise _invalid(place, error) from None


def text(raw: bytes) -> None:
    """A body that is not UTF-8 cannot be parsed: 400, as FastAPI answers it before any
    other check (the problem handlers turn it into a 422, see api.problems)."""
    try:
        raw.decode()
    except UnicodeDecodeError:
        raise HTTPException(400, UNPARSEABLE) from None


def json_body(model: type[BaseModel], raw: bytes, content_type: str | None) -> Any:
    """A JSON body parsed into ``model``: 422 with ``body`` locations if it is not one,
    or if it is not declared as JSON (FastAPI parses only ``application/json`` and
    ``application/*+json`` bodies)."""
    if not raw:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        kind = {
            "type": "model_attributes_type",
            "loc": ("body",),
            "msg": "Input should be a valid dictionary or object to extract fields from",
            "input": None,
        }
        raise RequestValidationError([kind])
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise _invalid(("body",), error) from None
