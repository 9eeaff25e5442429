"""The partner-lists API: import a partner's list as proposals, export ours, compare.

Import and compare take the file itself as the request body (``text/csv`` or
``application/json``; ``?format=`` overrides the content type). Export returns the file,
with what the format cannot express listed in the ``AppWarden-Warnings`` header.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response

from appwarden.api.deps import ContextDep, PrincipalDep, SessionDep, guarded
from appwarden.api.problems import problems
from appwarden.auth.roles import Permission
from appwarden.decisions.service import Acting
from appwarden.partners import service
from appwarden.partners.http import partner_file
from appwarden.partners.schemas import ComparisonRead, ImportRead

router = APIRouter(tags=["partner lists"])
WARNINGS_HEADER = "AppWarden-Warnings"
Format = Literal["csv", "json"]
FileBody = Annotated[bytes, Depends(partner_file)]
_FILE = {
    "requestBody": {
        "required": True,
        "description": "The partner list: CSV or JSON, UTF-8 (see docs/partners.md).",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}
Pending = Annotated[
    bool, Query(description="Also our drafts, proposals and notices, not only what is in force.")
]


def _with_file(permission: Permission) -> dict[str, Any]:
    kwargs = guarded(permission)
    kwargs["openapi_extra"] = {**kwargs["openapi_extra"], **_FILE}
    return kwargs


def _format(request: Request, given: str | None) -> str | None:
    if given is not None:
        return given
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return {"text/csv": "csv", "application/json": "json"}.get(media)


@router.post(
    "/partner-lists/import",
    status_code=status.HTTP_201_CREATED,
    responses=problems(413, 422),
    **_with_file(Permission.propose),
)
def import_list(
    request: Request,
    data: FileBody,
    session: SessionDep,
    context: ContextDep,
    principal: PrincipalDep,
    format: Format | None = None,  # noqa: A002 (the query parameter's name)
    scope: Annotated[list[str] | None, Query(max_length=500)] = None,
    review_days: Annotated[int, Query(ge=1, le=3650)] = service.REVIEW_DAYS,
) -> ImportRead:
    """Import a partner's list: a proposal (or a draft, without an assessment to cite) for
    each target found in the catalog; unmatched targets are reported. All or nothing."""
    acting = Acting(session, context.clock, context.audit_key, context.settings, principal)
    result = service.import_list(
        acting, data, fmt=_format(request, format), scope=scope, review_days=review_days
    )
    return ImportRead.of(result)


@router.get(
    "/partner-lists/export",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}, "application/json": {}}},
        **problems(422),
    },
    **guarded(Permission.read),
)
def export(
    session: SessionDep,
    context: ContextDep,
    jurisdiction: Annotated[str, Query(min_length=1, max_length=100)],
    format: Format = "json",  # noqa: A002
    source_title: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
    source_url: Annotated[str | None, Query(pattern=r"^https?://", max_length=500)] = None,
    pending: Pending = False,
) -> Response:
    """Our determinations in force as a partner list, in the import's format."""
    result = service.export(
        session,
        fmt=format,
        now=context.clock.now(),
        jurisdiction=jurisdiction,
        source_title=source_title,
        source_url=source_url,
        pending=pending,
    )
    return Response(
        result.content,
        media_type=result.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            WARNINGS_HEADER: json.dumps(list(result.warnings)),
        },
    )


@router.post("/partner-lists/compare", responses=problems(413, 422), **_with_file(Permission.read))
def compare(
    request: Request,
    data: FileBody,
    session: SessionDep,
    context: ContextDep,
    format: Format | None = None,  # noqa: A002
    pending: Pending = False,
) -> ComparisonRead:
    """A partner's list against our determinations: in both, only ours, only theirs.
    Reads only: nothing is stored."""
    compared = service.compare_list(
        session,
        data,
        fmt=_format(request, format),
        now=context.clock.now(),
        max_bytes=context.settings.partner_list_max_bytes,
        pending=pending,
    )
    return ComparisonRead.of(compared)
