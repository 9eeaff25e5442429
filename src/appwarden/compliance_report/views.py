"""``GET /reports/compliance``: the compliance report as of a date, as JSON, CSV or HTML.
Reads need ``read``, as the compliance counts do. Due devices are judged first, as every
compliance read does, so a report as of now holds at the time of the request."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import Response

from appwarden.api.deps import ContextDep, SessionDep, guarded
from appwarden.api.documents import DOCUMENT_CSP
from appwarden.api.ids import MAX_ID
from appwarden.api.problems import problems
from appwarden.auth.roles import Permission
from appwarden.compliance import service as compliance
from appwarden.compliance import webhook
from appwarden.compliance_report.schemas import ComplianceReport
from appwarden.compliance_report.service import report_file

router = APIRouter(tags=["reports"])


@router.get(
    "/reports/compliance",
    response_class=Response,
    responses={
        200: {
            "model": ComplianceReport,
            "content": {"text/csv": {}, "text/html": {}},
            "description": "The report (JSON by default), as an attachment.",
        },
        **problems(404, 422),
    },
    **guarded(Permission.read),
)
def compliance_report(
    session: SessionDep,
    context: ContextDep,
    background: BackgroundTasks,
    as_of: Annotated[
        str | None,
        Query(
            max_length=40,
            description="A date (YYYY-MM-DD: the end of that day, UTC) or a time with its "
            "offset; not in the future. Default: now.",
        ),
    ] = None,
    determination: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="One determination; default: all.")
    ] = None,
    format: Annotated[Literal["json", "csv", "html"], Query()] = "json",  # noqa: A002
) -> Response:
    """Devices in scope, removed, exempt (with their waivers), non-compliant, pending,
    unreachable and cannot_enforce, and removal deadlines met or missed, as recorded at
    ``as_of`` (replayed from the append-only history). See docs/reports.md."""
    now = context.clock.now()
    if compliance.refresh(session, now, settings=context.settings) and (
        context.settings.compliance_webhook_url
    ):
        background.add_task(webhook.deliver_due, context.sessions, context.settings, context.clock)
    found = report_file(session, as_of=as_of, determination_id=determination, fmt=format, now=now)
    headers = {
        "Content-Disposition": f'attachment; filename="{found.filename}"',
        "X-Content-Type-Options": "nosniff",
    }
    if format == "html":
        headers["Content-Security-Policy"] = DOCUMENT_CSP
    return Response(found.content, media_type=found.media_type, headers=headers)
