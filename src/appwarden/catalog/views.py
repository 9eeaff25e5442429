"""The catalog API: publishers (affiliates, domains) and apps. Uploads and assessments
are in :mod:`appwarden.catalog.assessment_views`; :data:`router` carries both."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from appwarden.api.deps import ContextDep, PrincipalDep, SessionDep, guarded
from appwarden.api.idempotency import idempotent
from appwarden.api.ids import PathId, QueryId
from appwarden.api.pagination import Page, PageDep, paginate
from appwarden.api.problems import problems
from appwarden.audit.service import Acting
from appwarden.auth.roles import Permission
from appwarden.auth.service import Principal
from appwarden.catalog import service
from appwarden.catalog.assessment_views import router as assessments_router
from appwarden.catalog.models import App, Publisher
from appwarden.catalog.schemas import (
    AppCreate,
    AppDetail,
    AppRead,
    AppUpdate,
    AssessmentSummary,
    DomainAdd,
    ParentSet,
    Platform,
    PublisherCreate,
    PublisherDetail,
    PublisherRead,
    PublisherRef,
    PublisherUpdate,
    SignerRead,
)

router = APIRouter(tags=["catalog"])


def acting(principal: Principal, context: ContextDep) -> Acting:
    return Acting(actor=principal.actor, audit_key=context.audit_key)


def publisher_read(publisher: Publisher) -> PublisherRead:
    return PublisherRead(
        id=publisher.id,
        name=publisher.name,
        jurisdiction=publisher.jurisdiction,
        parent_id=publisher.parent_id,
        domains=sorted(d.domain for d in publisher.domains),
        created_at=publisher.created_at,
    )


def publisher_detail(session: Session, publisher: Publisher) -> PublisherDetail:
    session.refresh(publisher, ["affiliates", "parent"])
    return PublisherDetail(
        **publisher_read(publisher).model_dump(),
        parent=PublisherRef.model_validate(publisher.parent) if publisher.parent else None,
        affiliates=[PublisherRef.model_validate(a) for a in publisher.affiliates],
        family_ids=sorted(service.family_ids(session, publisher.id)),
    )


# ----------------------------------------------------------------- publishers


@router.get("/publishers", **guarded(Permission.read))
def list_publishers(
    session: SessionDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=200, description="Part of a name or domain.")] = None,
) -> Page[PublisherRead]:
    """Publishers, oldest first; ``q`` searches names and known domains."""
    rows, total = paginate(session, service.publishers_query(q=q), page)
    items = [publisher_read(p) for p in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/publishers",
    response_model=PublisherDetail,
    responses=problems(404, 409, 422),
    status_code=status.HTTP_201_CREATED,
    **guarded(Permission.vet),
)
def create_publisher(
    body: PublisherCreate,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> JSONResponse:
    """Add a publisher, optionally as an affiliate of ``parent_id``. Honours Idempotency-Key."""

    def create() -> PublisherDetail:
        publisher = service.create_publisher(
            session,
            clock=context.clock,
            acting=acting(principal, context),
            name=body.name,
            jurisdiction=body.jurisdiction,
            parent_id=body.parent_id,
            domains=body.domains,
        )
        return publisher_detail(session, publisher)

    return idempotent(
        session,
        request=request,
        principal=principal,
        clock=context.clock,
        payload=body.model_dump(),
        create=create,
    )


@router.get("/publishers/{publisher_id}", responses=problems(404), **guarded(Permission.read))
def get_publisher(publisher_id: PathId, session: SessionDep) -> PublisherDetail:
    """A publisher with its parent, direct affiliates, whole family and domains."""
    return publisher_detail(session, service.get_publisher(session, publisher_id=publisher_id))


@router.patch(
    "/publishers/{publisher_id}", responses=problems(404, 409, 422), **guarded(Permission.vet)
)
def update_publisher(
    publisher_id: PathId,
    body: PublisherUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> PublisherDetail:
    """Rename a publisher or correct its jurisdiction."""
    publisher = service.update_publisher(
        session,
        clock=context.clock,
        acting=acting(principal, context),
        publisher_id=publisher_id,
        name=body.name,
        jurisdiction=body.jurisdiction,
    )
    return publisher_detail(session, publisher)


@router.put(
    "/publishers/{publisher_id}/parent",
    responses=problems(404, 409, 422),
    **guarded(Permission.vet),
)
def set_parent(
    publisher_id: PathId,
    body: ParentSet,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> PublisherDetail:
    """Make the publisher an affiliate of ``parent_id`` (null: of none). A cycle is 409."""
    publisher = service.set_parent(
        session,
        clock=context.clock,
        acting=acting(principal, context),
        publisher_id=publisher_id,
        parent_id=body.parent_id,
    )
    return publisher_detail(session, publisher)


@router.post(
    "/publishers/{publisher_id}/domains",
    response_model=PublisherDetail,
    responses=problems(404, 409, 422),
    status_code=status.HTTP_201_CREATED,
    **guarded(Permission.vet),
)
def add_domain(
    publisher_id: PathId,
    body: DomainAdd,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> JSONResponse:
    """Record a domain the publisher uses (lower-cased). Honours Idempotency-Key."""

    def create() -> PublisherDetail:
        publisher = service.add_domain(
            session,
            clock=context.clock,
            acting=acting(principal, context),
            publisher_id=publisher_id,
            domain=body.domain,
        )
        return publisher_detail(session, publisher)

    return idempotent(
        session,
        request=request,
        principal=principal,
        clock=context.clock,
        payload=body.model_dump(),
        create=create,
    )


@router.delete(
    "/publishers/{publisher_id}/domains/{domain}",
    responses=problems(404, 422),
    **guarded(Permission.vet),
)
def remove_domain(
    publisher_id: PathId,
    domain: str,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> PublisherDetail:
    """Forget a domain of the publisher."""
    publisher = service.remove_domain(
        session,
        clock=context.clock,
        acting=acting(principal, context),
        publisher_id=publisher_id,
        domain=domain,
    )
    return publisher_detail(session, publisher)


# ----------------------------------------------------------------------- apps


def app_detail(session: Session, app: App) -> AppDetail:
    latest = service.latest_assessment(session, app_id=app.id)
    return AppDetail(
        **AppRead.model_validate(app).model_dump(),
        publisher=PublisherRef.model_validate(app.publisher) if app.publisher else None,
        signers=[SignerRead.model_validate(s) for s in app.signers],
        latest_assessment=AssessmentSummary.model_validate(latest) if latest else None,
        assessment_count=service.count_assessments(session, app_id=app.id),
    )


@router.get("/apps", **guarded(Permission.read))
def list_apps(
    session: SessionDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=200, description="Part of an id or name.")] = None,
    platform: Platform | None = None,
    publisher_id: QueryId | None = None,
    include_affiliates: Annotated[
        bool, Query(description="With publisher_id: also its affiliates' apps.")
    ] = False,
) -> Page[AppRead]:
    """Apps, oldest first, filtered by text, platform or publisher."""
    query = service.apps_query(
        session,
        q=q,
        platform=platform,
        publisher_id=publisher_id,
        include_affiliates=include_affiliates,
    )
    rows, total = paginate(session, query, page)
    items = [AppRead.model_validate(a) for a in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/apps",
    response_model=AppDetail,
    responses=problems(404, 409, 422),
    status_code=status.HTTP_201_CREATED,
    **guarded(Permission.vet),
)
def create_app(
    body: AppCreate,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> JSONResponse:
    """Add an app by platform and id, before any upload. Honours Idempotency-Key."""

    def create() -> AppDetail:
        app = service.create_app(
            session,
            clock=context.clock,
            acting=acting(principal, context),
            platform=body.platform,
            app_id=body.app_id,
            name=body.name,
            publisher_id=body.publisher_id,
        )
        return app_detail(session, app)

    return idempotent(
        session,
        request=request,
        principal=principal,
        clock=context.clock,
        payload=body.model_dump(),
        create=create,
    )


@router.get("/apps/{app_id}", responses=problems(404), **guarded(Permission.read))
def get_app(app_id: PathId, session: SessionDep) -> AppDetail:
    """An app with its publisher, signers and latest assessment."""
    return app_detail(session, service.get_app(session, app_id=app_id))


@router.patch("/apps/{app_id}", responses=problems(404, 422), **guarded(Permission.vet))
def update_app(
    app_id: PathId,
    body: AppUpdate,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> AppDetail:
    """Rename an app or set its publisher (``"publisher_id": null`` removes it)."""
    changes: dict[str, Any] = {"name": body.name}
    if "publisher_id" in body.model_fields_set:
        changes["publisher_id"] = body.publisher_id
    app = service.update_app(
        session, clock=context.clock, acting=acting(principal, context), app_id=app_id, **changes
    )
    return app_detail(session, app)


router.include_router(assessments_router)
