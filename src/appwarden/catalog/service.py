"""Publishers and apps: plain functions over a session the caller owns.

Every change appends an audit event in the same transaction, so the API and the CLI
(which both call these) cannot change the catalog without leaving a trace.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session, aliased, selectinload

from appwarden.audit.service import Acting, record
from appwarden.catalog import validation
from appwarden.catalog.models import App, Assessment, Publisher, PublisherDomain
from appwarden.clock import Clock
from appwarden.enforcement.changes import note_change
from appwarden.errors import Conflict, Invalid, NotFound

# ----------------------------------------------------------------- publishers


def publisher_snapshot(publisher: Publisher) -> dict[str, Any]:
    return {
        "name": publisher.name,
        "jurisdiction": publisher.jurisdiction,
        "parent_id": publisher.parent_id,
        "domains": sorted(d.domain for d in publisher.domains),
    }


def get_publisher(session: Session, *, publisher_id: int) -> Publisher:
    publisher = session.get(Publisher, publisher_id)
    if publisher is None:
        raise NotFound(f"no publisher {publisher_id}")
    return publisher


def family_ids(session: Session, publisher_id: int) -> set[int]:
    """The publisher and all its affiliates, transitively: what a ban on it covers.

    One recursive query; ``UNION`` (not ``UNION ALL``) drops rows already found, so a
    cycle written straight into the database still ends. Empty if the id is unknown."""
    tree = select(Publisher.id).where(Publisher.id == publisher_id).cte("family", recursive=True)
    child = aliased(Publisher)
    tree = tree.union(select(child.id).where(child.parent_id == tree.c.id))
    return set(session.scalars(select(tree.c.id)))


def lineage_ids(session: Session, publisher_id: int) -> set[int]:
    """The publisher and every publisher above it: whose bans reach its apps."""
    chain = (
        select(Publisher.id, Publisher.parent_id)
        .where(Publisher.id == publisher_id)
        .cte("lineage", recursive=True)
    )
    parent = aliased(Publisher)
    chain = chain.union(select(parent.id, parent.parent_id).where(parent.id == chain.c.parent_id))
    return set(session.scalars(select(chain.c.id)))


def _check_name_free(session: Session, name: str, *, other_than: int | None = None) -> None:
    # SQLite's lower() folds ASCII only: the exact name is compared too (see fleet.service).
    query = select(Publisher.id).where(
        (func.lower(Publisher.name) == name.lower()) | (Publisher.name == name)
    )
    if other_than is not None:
        query = query.where(Publisher.id != other_than)
    if session.scalar(query) is not None:
        raise Conflict(f"a publisher named {name!r} already exists")


def create_publisher(
    session: Session,
    *,
    clock: Clock,
    acting: Acting,
    name: str,
    jurisdiction: str,
    parent_id: int | None = None,
    domains: list[str] | None = None,
) -> Publisher:
    """A new publisher, optionally an affiliate of ``parent_id``, with known domains."""
    clean = validation.name(name, what="publisher")
    country = validation.jurisdiction(jurisdiction)
    hosts = sorted({validation.domain(d) for d in domains or []})
    _check_name_free(session, clean)
    if parent_id is not None:
        get_publisher(session, publisher_id=parent_id)
    publisher = Publisher(
        name=clean, jurisdiction=country, parent_id=parent_id, created_at=clock.now()
    )
    publisher.domains = [PublisherDomain(domain=host) for host in hosts]
    session.add(publisher)
    session.flush()
    record(
        session,
        clock=clock,
        acting=acting,
        action="publisher.create",
        object_type="publisher",
        object_id=publisher.id,
        after=publisher_snapshot(publisher),
    )
    return publisher


def update_publisher(
    session: Session,
    *,
    clock: Clock,
    acting: Acting,
    publisher_id: int,
    name: str | None = None,
    jurisdiction: str | None = None,
) -> Publisher:
    """Rename a publisher or correct its jurisdiction."""
    publisher = get_publisher(session, publisher_id=publisher_id)
    before = publisher_snapshot(publisher)
    if name is not None:
        clean = validation.name(name, what="publisher")
        _check_name_free(session, clean, other_than=publisher.id)
        publisher.name = clean
    if jurisdiction is not None:
        publisher.jurisdiction = validation.jurisdiction(jurisdiction)
    return _changed(session, clock, acting, publisher, before, "publisher.update")


def set_parent(
    session: Session, *, clock: Clock, acting: Acting, publisher_id: int, parent_id: int | None
) -> Publisher:
    """Make a publisher an affiliate of another (or of none). Refused if the parent is
    the publisher itself or one of its own affiliates: that would make a cycle."""
    publisher = get_publisher(session, publisher_id=publisher_id)
    before = publisher_snapshot(publisher)
    if parent_id is not None:
        parent = get_publisher(session, publisher_id=parent_id)
        if parent.id in family_ids(session, publisher.id):
            raise Conflict(
                f"publisher {parent.id} is {publisher.name!r} itself or one of its "
                "affiliates; making it the parent would make a cycle"
            )
    publisher.parent_id = parent_id
    return _changed(session, clock, acting, publisher, before, "publisher.set_parent")


def add_domain(
    session: Session, *, clock: Clock, acting: Acting, publisher_id: int, domain: str
) -> Publisher:
    publisher = get_publisher(session, publisher_id=publisher_id)
    host = validation.domain(domain)
    if any(d.domain == host for d in publisher.domains):
        raise Conflict(f"{publisher.name!r} already has the domain {host}")
    before = publisher_snapshot(publisher)
    publisher.domains.append(PublisherDomain(domain=host))
    return _changed(session, clock, acting, publisher, before, "publisher.domain_add")


def remove_domain(
    session: Session, *, clock: Clock, acting: Acting, publisher_id: int, domain: str
) -> Publisher:
    publisher = get_publisher(session, publisher_id=publisher_id)
    host = validation.domain(domain)
    row = next((d for d in publisher.domains if d.domain == host), None)
    if row is None:
        raise NotFound(f"{publisher.name!r} has no domain {host}")
    before = publisher_snapshot(publisher)
    publisher.domains.remove(row)
    return _changed(session, clock, acting, publisher, before, "publisher.domain_remove")


def _changed(
    session: Session,
    clock: Clock,
    acting: Acting,
    publisher: Publisher,
    before: dict[str, Any],
    action: str,
) -> Publisher:
    session.flush()
    after = publisher_snapshot(publisher)
    if after != before:
        if action != "publisher.update":  # affiliates and domains reach device policies
            note_change(session, "catalog", publisher.id, clock.now())
        record(
            session,
            clock=clock,
            acting=acting,
            action=action,
            object_type="publisher",
            object_id=publisher.id,
            before=before,
            after=after,
        )
    return publisher


def publishers_query(*, q: str | None = None) -> Select[Publisher]:
    """Publishers by id; ``q`` matches a part of the name or of a known domain."""
    query = select(Publisher).options(selectinload(Publisher.domains)).order_by(Publisher.id)
    if q:
        needle = q.strip().lower()
        by_domain = exists().where(
            PublisherDomain.publisher_id == Publisher.id,
            PublisherDomain.domain.contains(needle, autoescape=True),
        )
        query = query.where(
            func.lower(Publisher.name).contains(needle, autoescape=True) | by_domain
        )
    return query


# ----------------------------------------------------------------------- apps


def app_snapshot(app: App) -> dict[str, Any]:
    return {
        "platform": app.platform,
        "app_id": app.app_id,
        "name": app.name,
        "publisher_id": app.publisher_id,
    }


def get_app(session: Session, *, app_id: int) -> App:
    app = session.get(App, app_id)
    if app is None:
        raise NotFound(f"no app {app_id}")
    return app


def find_app(session: Session, *, platform: str, app_id: str) -> App | None:
    return session.scalar(select(App).where(App.platform == platform, App.app_id == app_id))


def create_app(
    session: Session,
    *,
    clock: Clock,
    acting: Acting,
    platform: str,
    app_id: str,
    name: str,
    publisher_id: int | None = None,
) -> App:
    """A new app, known by platform and package or bundle id (before any upload, e.g. to
    ban an app nobody has vetted yet)."""
    if platform not in ("android", "ios"):
        raise Invalid(f"the platform must be android or ios, not {platform!r}")
    package = validation.app_id(app_id)
    if find_app(session, platform=platform, app_id=package) is not None:
        raise Conflict(f"the {platform} app {package} is already in the catalog")
    if publisher_id is not None:
        get_publisher(session, publisher_id=publisher_id)
    app = App(
        platform=platform,
        app_id=package,
        name=validation.name(name, what="app"),
        publisher_id=publisher_id,
        created_at=clock.now(),
    )
    session.add(app)
    session.flush()
    if publisher_id is not None:  # a publisher ban covers its catalog apps
        note_change(session, "catalog", publisher_id, clock.now())
    record(
        session,
        clock=clock,
        acting=acting,
        action="app.create",
        object_type="app",
        object_id=app.id,
        after=app_snapshot(app),
    )
    return app


_UNCHANGED: Any = object()


def update_app(
    session: Session,
    *,
    clock: Clock,
    acting: Acting,
    app_id: int,
    name: str | None = None,
    publisher_id: int | None = _UNCHANGED,
) -> App:
    """Rename an app or change its publisher (``publisher_id=None`` removes it)."""
    app = get_app(session, app_id=app_id)
    before = app_snapshot(app)
    if name is not None:
        app.name = validation.name(name, what="app")
    if publisher_id is not _UNCHANGED:
        if publisher_id is not None:
            get_publisher(session, publisher_id=publisher_id)
        app.publisher_id = publisher_id
    session.flush()
    after = app_snapshot(app)
    if after != before:
        if after["publisher_id"] != before["publisher_id"]:
            note_change(session, "catalog", before["publisher_id"] or app.publisher_id, clock.now())
        record(
            session,
            clock=clock,
            acting=acting,
            action="app.update",
            object_type="app",
            object_id=app.id,
            before=before,
            after=after,
        )
    return app


def apps_query(
    session: Session,
    *,
    q: str | None = None,
    platform: str | None = None,
    publisher_id: int | None = None,
    include_affiliates: bool = False,
) -> Select[App]:
    """Apps by id; ``q`` matches a part of the app id or name."""
    query = select(App).order_by(App.id)
    if q:
        needle = q.strip().lower()
        query = query.where(
            func.lower(App.app_id).contains(needle, autoescape=True)
            | func.lower(App.name).contains(needle, autoescape=True)
        )
    if platform:
        query = query.where(App.platform == platform)
    if publisher_id is not None:
        ids = family_ids(session, publisher_id) if include_affiliates else {publisher_id}
        query = query.where(App.publisher_id.in_(ids))
    return query


def latest_assessment(session: Session, *, app_id: int) -> Assessment | None:
    query = (
        select(Assessment)
        .where(Assessment.app_id == app_id)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def count_assessments(session: Session, *, app_id: int) -> int:
    query = select(func.count()).where(Assessment.app_id == app_id)
    return int(session.scalar(query) or 0)


def get_assessment(session: Session, *, assessment_id: int) -> Assessment:
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"no assessment {assessment_id}")
    return assessment
