"""Apps: search the catalog (a GET form, readable without JavaScript), and upload an app
file to vet it (roles that may vet), which leads to its assessment report.

JSON twins: ``GET /api/v1/apps`` (the same ``q`` and ``platform``) and
``POST /api/v1/apps/upload`` (the same file, the same checks, the same records).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, File, Query, UploadFile
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appwarden.api.pagination import PageParams, paginate
from appwarden.audit.service import Acting
from appwarden.auth.roles import Permission, allows
from appwarden.auth.service import Principal
from appwarden.catalog import service, uploads
from appwarden.catalog.blobs import BlobStore
from appwarden.catalog.http import CappedUploadRoute
from appwarden.catalog.models import App
from appwarden.console.access import allowed
from appwarden.console.i18n import N_, translator
from appwarden.console.nav import NavItem
from appwarden.console.rendering import render
from appwarden.console.sessions import context_of
from appwarden.errors import DomainError, StorageFull, TooLarge

router = APIRouter()
#: The upload reads its body through the same size cap as the REST upload route.
upload_router = APIRouter(route_class=CappedUploadRoute)
NAV = NavItem("/apps", N_("Apps"), Permission.read)
PAGE_SIZE = 50

#: Platforms and verdicts, in words.
PLATFORMS = {"android": N_("Android"), "ios": N_("iOS")}
VERDICTS = {"pass": N_("pass"), "warn": N_("warn"), "fail": N_("fail")}

Reader = Annotated[Principal, allowed(Permission.read)]
Vetter = Annotated[Principal, allowed(Permission.vet)]


@dataclass(frozen=True)
class AppRow:
    id: int
    name: str
    app_id: str
    platform: str
    assessment_id: int | None
    verdict: str | None
    score: int | None
    grade: str | None
    assessments: int


def _rows(request: Request, q: str | None, platform: str | None, offset: int) -> dict[str, Any]:
    context = context_of(request)
    with context.reading() as session:
        query = service.apps_query(session, q=q, platform=platform)
        apps, total = paginate(session, query, PageParams(limit=PAGE_SIZE, offset=offset))
        rows = [_row(session, app) for app in apps]
    filters = {k: v for k, v in {"q": q, "platform": platform}.items() if v}

    def page_link(start: int) -> str:
        return "/apps?" + urlencode({**filters, "offset": start})

    query_text = urlencode(filters)
    return {
        "apps": rows,
        "total": total,
        "first": offset + 1 if rows else 0,
        "last": offset + len(rows),
        "q": q or "",
        "platform": platform or "",
        "previous": page_link(max(offset - PAGE_SIZE, 0)) if offset > 0 else None,
        "next": page_link(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
        "twin": "GET /api/v1/apps" + (f"?{query_text}" if query_text else ""),
    }


def _row(session: Session, app: App) -> AppRow:
    latest = service.latest_assessment(session, app_id=app.id)
    return AppRow(
        id=app.id,
        name=app.name,
        app_id=app.app_id,
        platform=app.platform,
        assessment_id=latest.id if latest else None,
        verdict=latest.verdict if latest else None,
        score=latest.score_total if latest else None,
        grade=latest.grade if latest else None,
        assessments=service.count_assessments(session, app_id=app.id),
    )


def _page(
    request: Request,
    principal: Principal,
    *,
    q: str | None = None,
    platform: str | None = None,
    offset: int = 0,
    status: int = 200,
    error: str | None = None,
) -> Response:
    values = _rows(request, q, platform, offset)
    return render(
        request,
        "apps.html",
        status=status,
        principal=principal,
        can_upload=allows(principal.role, Permission.vet),
        upload_limit_mb=context_of(request).settings.upload_max_bytes // (1024 * 1024),
        platforms=PLATFORMS,
        verdicts=VERDICTS,
        error=error,
        **values,
    )


@router.get("/apps")
def apps_page(
    request: Request,
    principal: Reader,
    q: Annotated[str | None, Query(max_length=200)] = None,
    platform: Literal["android", "ios", ""] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    return _page(request, principal, q=q, platform=platform or None, offset=offset)


def _refused(request: Request, principal: Principal, reason: str, *, status: int = 422) -> Response:
    """The upload was refused: the page again, with why (htmx: the message alone)."""
    if request.headers.get("hx-request") == "true":
        return render(request, "apps_upload_error.html", status=status, error=reason)
    return _page(request, principal, status=status, error=reason)


@upload_router.post("/apps/upload")
def upload(
    request: Request,
    principal: Vetter,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Vet the file and record it exactly as ``POST /api/v1/apps/upload`` does, then go to
    its report. A file that cannot be vetted leaves nothing behind and says why."""
    _ = translator(request).gettext
    if file is None or not file.filename:
        return _refused(request, principal, _("Choose an .apk, .apks, .xapk or .ipa file."))
    context = context_of(request)
    settings = context.settings
    name = uploads.base_name(file.filename)
    store = BlobStore(settings.blobs_dir)
    try:
        kind = uploads.file_kind(name)
        with store.spool(file.file, limit=settings.upload_max_bytes, name=name) as staged:
            document = uploads.vet(uploads.vetter_for(settings), staged.path, name=name, kind=kind)
            with context.sessions() as session, session.begin():
                done = uploads.record_upload(
                    session,
                    clock=context.clock,
                    acting=Acting(principal.actor, context.audit_key),
                    store=store,
                    staged=staged,
                    document=document,
                )
                assessment_id = done.assessment.id
    except TooLarge:
        limit = settings.upload_max_bytes // (1024 * 1024)
        reason = _("The file is larger than %(limit)s MB.") % {"limit": limit}
        return _refused(request, principal, reason, status=413)
    except StorageFull:
        reason = _("The server's storage is full: the file was not kept. Tell an operator.")
        return _refused(request, principal, reason, status=507)
    except uploads.DefinitionsUnavailable:
        reason = _("The server cannot vet files now: its tracker definitions cannot be read.")
        return _refused(request, principal, reason + " " + _("Tell an operator."), status=503)
    except DomainError as error:
        reason = _("This file cannot be vetted: %(reason)s") % {"reason": error.detail}
        return _refused(request, principal, reason, status=error.status)
    target = f"/assessments/{assessment_id}"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
