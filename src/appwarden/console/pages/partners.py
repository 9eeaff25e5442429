"""Partners' lists: choose a partner's list (CSV or JSON) and see it beside our
determinations — in both, only ours, only theirs. Reads only; nothing is stored.

JSON twin: ``POST /api/v1/partner-lists/compare`` (the file as the body). Importing a list
as proposals is ``POST /api/v1/partner-lists/import`` or ``appwarden partners import``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from appwarden.auth.roles import Permission
from appwarden.auth.service import Principal
from appwarden.console import labels
from appwarden.console.access import allowed
from appwarden.console.i18n import translator
from appwarden.console.rendering import render
from appwarden.console.sessions import context_of
from appwarden.errors import DomainError
from appwarden.partners import service
from appwarden.partners.http import CappedPartnerRoute

router = APIRouter()
#: The comparison reads its file through the partner lists' size cap.
compare_router = APIRouter(route_class=CappedPartnerRoute)
Reader = Annotated[Principal, allowed(Permission.read)]


def _page(request: Request, principal: Principal, *, status: int = 200, **values: Any) -> Response:
    limit = context_of(request).settings.partner_list_max_bytes
    fragment = request.headers.get("hx-request") == "true"
    values = {"comparison": None, "error": None, "pending": False, **values}
    return render(
        request,
        "partners_result.html" if fragment else "partners.html",
        status=status,
        principal=principal,
        page="/partners",
        labels=labels,
        limit_kb=limit // 1024,
        import_command="appwarden partners import FILE",
        twin="POST /api/v1/partner-lists/compare",
        **values,
    )


def _format(filename: str) -> str | None:
    """The format the file's name says (else the content decides)."""
    return {"csv": "csv", "json": "json"}.get(filename.rsplit(".", 1)[-1].lower())


@router.get("/partners")
def partners_page(request: Request, principal: Reader) -> Response:
    return _page(request, principal)


@compare_router.post("/partners/compare")
def compare(
    request: Request,
    principal: Reader,
    file: Annotated[UploadFile | None, File()] = None,
    pending: Annotated[bool, Form()] = False,
) -> Response:
    """The comparison, below the form (htmx: the comparison alone)."""
    _ = translator(request).gettext
    if file is None or not file.filename:
        return _page(request, principal, status=422, pending=pending,
                     error=_("Choose a partner's list: a .csv or .json file."))  # fmt: skip
    context = context_of(request)
    limit = context.settings.partner_list_max_bytes
    data = file.file.read(limit + 1)
    try:
        with context.reading() as session:
            compared = service.compare_list(
                session,
                data,
                fmt=_format(file.filename),
                now=context.clock.now(),
                max_bytes=limit,
                pending=pending,
            )
    except DomainError as error:
        reason = _("This list cannot be read: %(reason)s") % {"reason": error.detail}
        return _page(request, principal, status=error.status, pending=pending, error=reason)
    return _page(request, principal, comparison=compared, pending=pending)
