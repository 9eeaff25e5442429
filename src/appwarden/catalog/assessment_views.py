"""Uploading app files, and reading the assessments made of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile, status
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select

from appwarden.api.deps import ContextDep, PrincipalDep, SessionDep, guarded
from appwarden.api.documents import document_html
from appwarden.api.idempotency import Once
from appwarden.api.ids import PathId
from appwarden.api.pagination import Page, PageDep, paginate
from appwarden.api.problems import problems
from appwarden.audit.service import Acting
from appwarden.auth.roles import Permission
from appwarden.catalog import service, uploads
from appwarden.catalog.blobs import BlobStore
from appwarden.catalog.http import CappedUploadRoute
from appwarden.catalog.models import Assessment
from appwarden.catalog.schemas import AssessmentSummary, UploadRead
from appwarden.reports import render_html
from appwarden.vetting.model import Assessment as Document

router = APIRouter(tags=["catalog"])
uploads_router = APIRouter(tags=["catalog"], route_class=CappedUploadRoute)


@uploads_router.post(
    "/apps/upload",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadRead,
    responses=problems(404, 413, 422, 503, 507),
    **guarded(Permission.vet),
)
def upload(
    file: Annotated[UploadFile, File(description="An .apk, .apks, .xapk or .ipa file.")],
    request: Request,
    principal: PrincipalDep,
    context: ContextDep,
    publisher_id: Annotated[int | None, Form(description="The app's publisher.")] = None,
) -> JSONResponse:
    """Vet an app file and record it: the app (created on first sight), its signers, the
    file (stored once per SHA-256) and a new assessment. Honours Idempotency-Key.

    A file that cannot be vetted, is too large or names an unknown publisher is refused
    with a problem document and leaves nothing behind: no rows, no stored file; so is a
    file the server has no room to keep (507). Vetting runs between two short
    transactions, never inside one (SQLite's write lock)."""
    settings, clock = context.settings, context.clock
    name = uploads.base_name(file.filename)
    kind = uploads.file_kind(name)
    store = BlobStore(settings.blobs_dir)
    with store.spool(file.file, limit=settings.upload_max_bytes, name=name) as staged:
        once = Once.of(
            request,
            principal,
            {"sha256": staged.sha256, "name": name, "publisher_id": publisher_id},
        )
        with context.sessions() as session, session.begin():
            if (hit := once.replay(session)) is not None:
                return hit
            if publisher_id is not None:
                service.get_publisher(session, publisher_id=publisher_id)
        document = uploads.vet(uploads.vetter_for(settings), staged.path, name=name, kind=kind)
        # Committed before the response is sent; if the commit fails, the file this
        # transaction stored is removed again (blobs.discard_unless_committed).
        with context.sessions() as session, session.begin():
            if (hit := once.replay(session)) is not None:
                return hit
            done = uploads.record_upload(
                session,
                clock=clock,
                acting=Acting(principal.actor, context.audit_key),
                store=store,
                staged=staged,
                document=document,
                publisher_id=publisher_id,
            )
            response = once.remember(session, done.as_read(), clock=clock)
    return response


@router.get("/apps/{app_id}/assessments", responses=problems(404), **guarded(Permission.read))
def list_assessments(app_id: PathId, session: SessionDep, page: PageDep) -> Page[AssessmentSummary]:
    """An app's assessments, newest first."""
    service.get_app(session, app_id=app_id)
    query = (
        select(Assessment)
        .where(Assessment.app_id == app_id)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
    )
    rows, total = paginate(session, query, page)
    items = [AssessmentSummary.model_validate(a) for a in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/assessments/{assessment_id}",
    response_model=Document,
    responses=problems(404),
    **guarded(Permission.read),
)
def get_assessment(assessment_id: PathId, session: SessionDep) -> JSONResponse:
    """The full assessment document, as `appwarden vet --format json` prints it."""
    assessment = service.get_assessment(session, assessment_id=assessment_id)
    return JSONResponse(assessment.document)


@router.get(
    "/assessments/{assessment_id}/report.html",
    response_class=HTMLResponse,
    responses=problems(404),
    **guarded(Permission.read),
)
def assessment_report(assessment_id: PathId, session: SessionDep) -> HTMLResponse:
    """The assessment as a self-contained HTML report (nothing to fetch)."""
    assessment = service.get_assessment(session, assessment_id=assessment_id)
    return document_html(render_html(Document.model_validate(assessment.document)))


router.include_router(uploads_router)
