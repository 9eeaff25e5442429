"""Reports: the compliance report for a central authority, as of a chosen date, for one
determination or all, downloaded as CSV or JSON or opened as a printable page.

JSON twin: ``GET /api/v1/reports/compliance?as_of=&determination=&format=``. The console
serves the same files at ``/reports/compliance`` for its session (the REST API takes an
API token, not the console's cookie).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from appwarden.api.documents import DOCUMENT_CSP
from appwarden.auth.roles import Permission
from appwarden.auth.service import Principal
from appwarden.compliance_report.asof import FutureAsOf, MalformedAsOf
from appwarden.compliance_report.replay import BeforeAnyData
from appwarden.compliance_report.service import report_file
from appwarden.console import compliance
from appwarden.console.access import allowed
from appwarden.console.i18n import N_
from appwarden.console.nav import NavItem
from appwarden.console.rendering import render
from appwarden.console.sessions import context_of
from appwarden.decisions.models import Determination
from appwarden.errors import DomainError, NotFound

router = APIRouter()
NAV = NavItem("/reports", N_("Reports"), Permission.read)
#: Determinations offered in the form, newest first.
CHOICES = 500

Reader = Annotated[Principal, allowed(Permission.read)]

#: Why a report could not be made, in words the page translates (checked in this order).
REFUSALS: list[tuple[type[DomainError], str]] = [
    (MalformedAsOf, N_("The date is not valid: choose a day (YYYY-MM-DD).")),
    (FutureAsOf, N_("The date is in the future: a report shows only what was recorded.")),
    (BeforeAnyData, N_("No compliance was recorded on or before this date for this choice.")),
    (NotFound, N_("There is no determination with this number.")),
    (DomainError, N_("Choose CSV, JSON or a printable page.")),
]


def _page(
    request: Request, principal: Principal, *, status: int = 200, error: str | None = None,
    as_of: str = "", determination: int | None = None,
) -> Response:  # fmt: skip
    context = context_of(request)
    with context.reading() as session:
        choices = session.execute(
            select(Determination.id, Determination.title)
            .order_by(Determination.id.desc())
            .limit(CHOICES)
        ).all()
    return render(
        request,
        "reports.html",
        status=status,
        principal=principal,
        choices=[(int(n), str(t)) for n, t in choices],
        today=context.clock.now().date().isoformat(),
        as_of=as_of,
        determination=determination,
        error=error,
        twin="GET /api/v1/reports/compliance?as_of=DATE&determination=ID&format=csv",
    )


@router.get("/reports")
def reports_page(
    request: Request,
    principal: Reader,
    determination: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return _page(request, principal, determination=determination)


def _refusal(error: DomainError) -> str:
    return next(message for kind, message in REFUSALS if isinstance(error, kind))


@router.get("/reports/compliance")
def compliance_report(
    request: Request,
    principal: Reader,
    background: BackgroundTasks,
    as_of: Annotated[str, Query(max_length=40)] = "",
    determination: Annotated[str, Query(max_length=12)] = "",
    format: Annotated[str, Query(max_length=8)] = "html",  # noqa: A002
) -> Response:
    """The report file; on bad input the form again, saying why."""
    compliance.refresh(request, background)
    context = context_of(request)
    number = int(determination) if determination.isdigit() else None
    values: dict[str, Any] = {"as_of": as_of, "determination": number}
    try:
        if determination and number is None:
            raise NotFound(f"no determination {determination!r}")
        with context.reading() as session:
            found = report_file(
                session, as_of=as_of, determination_id=number, fmt=format,
                now=context.clock.now(),
            )  # fmt: skip
    except DomainError as error:
        status = 404 if isinstance(error, NotFound) else 422
        return _page(request, principal, status=status, error=_refusal(error), **values)
    disposition = "inline" if format == "html" else "attachment"
    headers = {
        "Content-Disposition": f'{disposition}; filename="{found.filename}"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    if format == "html":
        headers["Content-Security-Policy"] = DOCUMENT_CSP
    return Response(found.content, media_type=found.media_type, headers=headers)
