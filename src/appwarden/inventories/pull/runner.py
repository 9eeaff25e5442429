"""Run one pull of a configured source: fetch the inventory through the MDM's API, then
import it exactly as a file is imported (:func:`~appwarden.inventories.service.import_inventory`).
An ``apple-mdm`` source is different: its pull only asks the devices (an MDM command,
:mod:`.apple`), and their answers are imported as they arrive through its webhook; the
pull's ``devices`` counts the commands enqueued, and it is audited as
``inventory.pull_requested``.

A pull is all or nothing, like an import: if any call fails or any device is refused,
nothing is imported, and the pull's record says why. Every pull is recorded
(:class:`~appwarden.inventories.models.InventoryPull`) and audited: a successful one by
the import's ``inventory.import`` event, a failed one by an ``inventory.pull_failed``
event. No database transaction is open while the MDM's API is called.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from appwarden.audit.service import Acting, append
from appwarden.clock import Clock
from appwarden.config import Settings
from appwarden.errors import Conflict, DomainError, NotFound
from appwarden.fleet.models import Device
from appwarden.inventories.models import DeviceInventory, InventoryPull
from appwarden.inventories.pull import amapi, apple, graph
from appwarden.inventories.pull.sources import (
    AmapiSource,
    AppleMdmSource,
    IntuneSource,
    Source,
    load,
)
from appwarden.inventories.pull.upstream import Upstream
from appwarden.inventories.service import Defaults, import_inventory

log = logging.getLogger(__name__)
#: The audit actor of scheduled pulls is this prefix and the source's name.
SCHEDULE_ACTOR = "schedule:"
Progress = Callable[[int, int], None]
#: A pull still "running" after this long was cut short (its process died): it no longer
#: stops a pull on demand.
STALE = timedelta(hours=6)


class _HasSessions(Protocol):
    sessions: sessionmaker[Session]
    clock: Clock
    settings: Settings
    audit_key: bytes


@dataclass(frozen=True)
class Pulling:
    """What a pull needs of its process: sessions, clock, settings and the audit key."""

    sessions: sessionmaker[Session]
    clock: Clock
    settings: Settings
    audit_key: bytes
    #: The HTTP transport (tests give a fake MDM; None: the network).
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] | None = None

    @classmethod
    def of(cls, context: _HasSessions) -> Pulling:
        return cls(context.sessions, context.clock, context.settings, context.audit_key)


def source_named(settings: Settings, name: str) -> Source:
    sources = load(settings.inventory_sources)
    if name not in sources:
        known = ", ".join(sorted(sources)) or "none is configured (APPWARDEN_INVENTORY_SOURCES)"
        raise NotFound(f"no inventory source {name!r}; known: {known}")
    return sources[name]


def _fetch(source: Source, upstream: Upstream, progress: Progress | None) -> bytes:
    if isinstance(source, IntuneSource):
        return graph.fetch(source, upstream, progress=progress)
    if isinstance(source, AmapiSource):
        return amapi.fetch(source, upstream, progress=progress)
    raise AssertionError(f"no fetcher for {source!r}")  # pragma: no cover - closed union


_SERVICE = {"intune": "Microsoft Graph", "amapi": "Android Management API"}
_FLAVOR = {"micromdm": "MicroMDM", "nanomdm": "NanoMDM"}


def _service(source: Source) -> str:
    if isinstance(source, AppleMdmSource):
        return _FLAVOR[source.flavor]
    return _SERVICE[source.kind]


def _known_apple(pulling: Pulling) -> list[str]:
    """The MDM ids of devices imported from an Apple MDM and not retired."""
    with pulling.sessions() as session:
        query = (
            select(DeviceInventory.external_id)
            .join(Device, Device.id == DeviceInventory.device_id)
            .where(DeviceInventory.source == "apple-mdm", Device.state != "retired")
            .order_by(DeviceInventory.external_id)
        )
        return list(session.scalars(query))


def _requested(
    pulling: Pulling,
    source: AppleMdmSource,
    pull_id: str,
    upstream: Upstream,
    actor: str,
    progress: Progress | None,
) -> None:
    """Ask the devices of an Apple MDM for their apps; record and audit how many."""
    known = _known_apple(pulling) if source.flavor == "nanomdm" else []
    with upstream.client:
        asked = apple.request(source, upstream, known=known, progress=progress)
    with pulling.sessions() as session, session.begin():
        done = session.get_one(InventoryPull, pull_id)
        done.status, done.calls, done.devices = "ok", upstream.calls, asked
        done.finished_at = pulling.clock.now()
        after = {"pull": pull_id, "commands": asked, "calls": upstream.calls}
        _audit(session, pulling, actor, "inventory.pull_requested", source.name, after)


def _start(pulling: Pulling, source: Source, actor: str, slot: int | None) -> str | None:
    """Record a pull as running; None if ``slot`` is already taken (another process)."""
    pull_id = uuid.uuid4().hex
    try:
        with pulling.sessions() as session, session.begin():
            session.add(
                InventoryPull(
                    id=pull_id,
                    source=source.name,
                    kind=source.kind,
                    slot=slot,
                    requested_by=actor[:64],
                    started_at=pulling.clock.now(),
                    status="running",
                    calls=0,
                    devices=0,
                    created=0,
                    skipped=0,
                )
            )
    except IntegrityError:
        return None
    return pull_id


def _failed(pulling: Pulling, pull_id: str, actor: str, calls: int, error: str) -> None:
    with pulling.sessions() as session, session.begin():
        pull = session.get_one(InventoryPull, pull_id)
        pull.status, pull.error, pull.calls = "failed", error[:2000], calls
        pull.finished_at = pulling.clock.now()
        after = {"pull": pull_id, "error": pull.error, "calls": calls}
        _audit(session, pulling, actor, "inventory.pull_failed", pull.source, after)


def _audit(
    session: Session,
    pulling: Pulling,
    actor: str,
    action: str,
    source: str,
    after: dict[str, object],
) -> None:
    """The audit event of a pull's outcome, on its source."""
    append(
        session,
        key=pulling.audit_key,
        clock=pulling.clock,
        actor=actor,
        action=action,
        object_type="inventory_source",
        object_id=source,
        after=after,
    )


def begin(pulling: Pulling, source: Source, *, actor: str, slot: int | None = None) -> str:
    """Record a pull of ``source`` as running; its id. Conflict when ``slot`` was taken by
    another process, or, for a pull on demand, while another pull of it runs."""
    if slot is None:
        with pulling.sessions() as session:
            running = session.scalar(
                select(InventoryPull.id).where(
                    InventoryPull.source == source.name,
                    InventoryPull.status == "running",
                    InventoryPull.started_at > pulling.clock.now() - STALE,
                )
            )
        if running is not None:
            raise Conflict(f"a pull of {source.name} is running ({running}); wait for it")
    pull_id = _start(pulling, source, actor, slot)
    if pull_id is None:
        raise Conflict(f"another process pulls {source.name} in this period")
    return pull_id


def run(
    pulling: Pulling,
    source: Source,
    pull_id: str,
    *,
    actor: str,
    progress: Progress | None = None,
) -> InventoryPull:
    """Carry out the pull ``pull_id`` begun by :func:`begin`; its finished record. A failure
    is recorded and returned, not raised."""
    client = httpx.Client(
        transport=pulling.transport, timeout=source.timeout_s, follow_redirects=False
    )
    upstream = Upstream(
        client,
        name=_service(source),
        max_bytes=pulling.settings.inventory_pull_max_bytes,
        **({"sleep": pulling.sleep} if pulling.sleep else {}),
    )
    try:
        if isinstance(source, AppleMdmSource):
            _requested(pulling, source, pull_id, upstream, actor, progress)
            return _record(pulling, pull_id)
        with client:
            data = _fetch(source, upstream, progress)
        with pulling.sessions() as session, session.begin():
            result = import_inventory(
                session,
                clock=pulling.clock,
                acting=Acting(actor=actor, audit_key=pulling.audit_key),
                settings=pulling.settings,
                kind=source.kind,
                data=data,
                group=source.group,
                defaults=Defaults(source.ownership, source.supervised),
            )
            done = session.get_one(InventoryPull, pull_id)
            done.status, done.calls, done.finished_at = "ok", upstream.calls, result.imported_at
            done.devices = len(result.devices)
            done.created = sum(1 for d in result.devices if d.created)
            done.skipped = len(result.skipped)
            done.sha256 = result.sha256
    except DomainError as error:
        _failed(pulling, pull_id, actor, upstream.calls, error.detail)
    except Exception as error:  # recorded, not raised: the schedule goes on with the others
        log.exception("inventory pull %s of %s failed", pull_id, source.name)
        _failed(pulling, pull_id, actor, upstream.calls, f"internal error ({type(error).__name__})")
    return _record(pulling, pull_id)


def _record(pulling: Pulling, pull_id: str) -> InventoryPull:
    with pulling.sessions() as session:
        record = session.get_one(InventoryPull, pull_id)
        session.expunge(record)
        return record


def pull(
    pulling: Pulling,
    source: Source,
    *,
    actor: str,
    slot: int | None = None,
    progress: Progress | None = None,
) -> InventoryPull:
    """Pull ``source`` once as ``actor`` (:func:`begin`, then :func:`run`)."""
    pull_id = begin(pulling, source, actor=actor, slot=slot)
    return run(pulling, source, pull_id, actor=actor, progress=progress)


def history(sessions: Callable[[], Session], source: str, limit: int) -> list[InventoryPull]:
    """The latest ``limit`` pulls of ``source``, newest first."""
    with sessions() as session:
        query = (
            select(InventoryPull)
            .where(InventoryPull.source == source)
            .order_by(InventoryPull.started_at.desc(), InventoryPull.id)
            .limit(limit)
        )
        found = list(session.scalars(query))
        session.expunge_all()
        return found


def last(
    sessions: Callable[[], Session], source: str, *, pull_id: str | None = None
) -> InventoryPull | None:
    """A pull by id, else the latest pull of ``source`` (None if never pulled)."""
    with sessions() as session:
        query = select(InventoryPull).where(InventoryPull.source == source)
        if pull_id is not None:
            query = query.where(InventoryPull.id == pull_id)
        query = query.order_by(InventoryPull.started_at.desc(), InventoryPull.id).limit(1)
        found = session.scalars(query).first()
        if found is not None:
            session.expunge(found)
        return found


def slot_of(source: Source, at: datetime) -> int | None:
    """The number of the schedule period ``at`` falls in (None: not scheduled)."""
    if source.every_minutes == 0:
        return None
    return int(at.timestamp() // (source.every_minutes * 60))
