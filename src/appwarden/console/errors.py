"""What the console shows when a page cannot be: a page in the layout, never a trace.

Console requests (not under ``/api/``, ``/v1/`` or the operators' endpoints, and asking
for HTML) get an HTML page for their errors; everything else keeps its problem document.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appwarden.console.i18n import N_

_NOT_CONSOLE = ("/api/", "/v1/", "/healthz", "/metrics", "/static/")


class ConsoleError(Exception):
    """An error page: ``title`` and ``detail`` are message ids."""

    status = 400
    title = N_("Something went wrong")
    detail = N_("The request could not be handled.")


class PageForbidden(ConsoleError):
    status = 403
    title = N_("Not allowed")
    detail = N_("Your role does not allow you to open this page.")


class CsrfRefused(ConsoleError):
    status = 403
    title = N_("Form refused")
    detail = N_(
        "The form had expired or came from another site, so nothing was changed. "
        "Reload the page and try again."
    )


class SignInRequired(Exception):  # noqa: N818 - it is an outcome, not a failure
    """Not signed in (or the session ended): go to the sign-in page, then come back."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


_HTTP_PAGES = {
    404: (N_("Page not found"), N_("There is no page at this address.")),
    405: (N_("Not allowed"), N_("This page cannot be used that way.")),
    413: (N_("File too large"), N_("The file is larger than this server accepts.")),
    422: (N_("Bad address"), N_("The address has a value this page cannot use.")),
}


def is_console_request(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(_NOT_CONSOLE) and "text/html" in request.headers.get("accept", "")


def _page(request: Request, status: int, title: str, detail: str, fields: str = "") -> Response:
    from appwarden.console.rendering import render

    return render(request, "error.html", status=status, title=title, detail=detail, fields=fields)


def install(app: FastAPI) -> None:
    api_http_handler: Any = app.exception_handlers[StarletteHTTPException]
    api_validation_handler: Any = app.exception_handlers[RequestValidationError]

    async def console_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, ConsoleError)  # noqa: S101 - registered for this class
        return _page(request, error.status, error.title, error.detail)

    async def sign_in_required(request: Request, error: Exception) -> Response:
        assert isinstance(error, SignInRequired)  # noqa: S101 - registered for this class
        target = "/sign-in?next=" + quote(error.back, safe="")
        if getattr(request.state, "session_ended", False):
            target += "&ended=1"
        return RedirectResponse(target, status_code=303)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)  # noqa: S101 - registered for this class
        if error.status_code in _HTTP_PAGES and is_console_request(request):
            title, detail = _HTTP_PAGES[error.status_code]
            return _page(request, error.status_code, title, detail)
        response: Response = await api_http_handler(request, error)
        return response

    async def validation_error(request: Request, error: Exception) -> Response:
        if is_console_request(request):
            title, detail = _HTTP_PAGES[422]
            fields = ", ".join(str(e["loc"][-1]) for e in getattr(error, "errors", list)())
            return _page(request, 422, title, detail, fields)
        response: Response = await api_validation_handler(request, error)
        return response

    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(ConsoleError, console_error)
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(StarletteHTTPException, http_error)
