"""Appending to, verifying and exporting the audit chain.

Each event's ``hash`` is HMAC-SHA256, keyed with a secret kept outside the database, over
the event's canonical JSON (sequence number, time, actor, action, object, before, after)
and the previous event's hash. Editing a row breaks its hash; deleting or reordering rows
breaks the sequence or the links; only cutting events off the end leaves a consistent
chain, so every verify and export prints the head (last sequence number and hash): keep
it, and a later head that is shorter or different shows the cut.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session

from appwarden.audit.models import AuditEvent
from appwarden.clock import Clock

GENESIS = "0" * 64


def _canonical(event: AuditEvent) -> bytes:
    payload = {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def _digest(key: bytes, event: AuditEvent) -> str:
    return hmac.new(key, _canonical(event), hashlib.sha256).hexdigest()


# Any constant: the advisory lock that makes appenders on PostgreSQL take turns.
_APPEND_LOCK = 0x4157_4155  # "AWAU"


def _head(session: Session, *, lock: bool) -> AuditEvent | None:
    if lock and session.get_bind().dialect.name == "postgresql":
        # Held to the end of the transaction. A row lock on the head would not serialise
        # the very first append (there is no row yet); SQLite needs nothing here because
        # its transactions begin IMMEDIATE (see appwarden.db).
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    query = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)
    return session.scalars(query).first()


@dataclass(frozen=True)
class Entry:
    """One event to append: who did what to which object, and its state before/after."""

    actor: str
    action: str
    object_type: str
    object_id: str | int
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def append(
    session: Session,
    *,
    key: bytes,
    clock: Clock,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event at the end of the chain, in the caller's transaction."""
    entry = Entry(actor, action, object_type, object_id, before, after)
    return append_many(session, key=key, clock=clock, entries=[entry])[0]


def append_many(
    session: Session, *, key: bytes, clock: Clock, entries: Sequence[Entry]
) -> list[AuditEvent]:
    """Add ``entries`` at the end of the chain in their order, in the caller's transaction,
    with one lock and one read of the head for all of them (e.g. a batch of enrollments)."""
    if not entries:
        return []
    head = _head(session, lock=True)
    seq, previous = (head.seq, head.hash) if head else (0, GENESIS)
    now = clock.now()
    events = []
    for entry in entries:
        seq += 1
        event = AuditEvent(
            seq=seq,
            at=now,
            actor=entry.actor,
            action=entry.action,
            object_type=entry.object_type,
            object_id=str(entry.object_id),
            before=_jsonable(entry.before),
            after=_jsonable(entry.after),
            prev_hash=previous,
        )
        event.hash = previous = _digest(key, event)
        events.append(event)
    session.add_all(events)
    session.flush()
    return events


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    loaded: dict[str, Any] = json.loads(json.dumps(value, sort_keys=True, default=str))
    return loaded


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None
    #: What broke, for programs: ``gap`` (events deleted), ``link``, ``edited``.
    problem: str | None = None


def verify(session: Session, *, key: bytes) -> Verification:
    """Walk the whole chain; report the first event that does not hold."""
    expected_seq, previous = 1, GENESIS
    count = 0
    for event in iter_events(session):
        count += 1
        problem = reason = None
        if event.seq != expected_seq:
            problem = "gap"
            reason = f"sequence jumps from {expected_seq - 1} to {event.seq} (events deleted)"
        elif event.prev_hash != previous:
            problem = "link"
            reason = "its previous-hash link does not match the event before it"
        elif not hmac.compare_digest(event.hash, _digest(key, event)):
            problem = "edited"
            reason = "its content does not match its hash (the row was edited)"
        if problem:
            return Verification(
                False, count, expected_seq - 1, previous, event.seq, reason, problem
            )
        expected_seq, previous = event.seq + 1, event.hash
    return Verification(True, count, expected_seq - 1, previous)


def iter_events(session: Session, batch: int = 1000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


@dataclass(frozen=True)
class EventFilter:
    """What the audit list may be narrowed to (each an exact match; None for any)."""

    object_type: str | None = None
    object_id: str | None = None
    actor: str | None = None
    action: str | None = None


def _filtered(where: EventFilter) -> Select[AuditEvent]:
    query = select(AuditEvent)
    for column, value in (
        (AuditEvent.object_type, where.object_type),
        (AuditEvent.object_id, where.object_id),
        (AuditEvent.actor, where.actor),
        (AuditEvent.action, where.action),
    ):
        if value:
            query = query.where(column == value)
    return query


def list_events(
    session: Session, *, where: EventFilter, limit: int, offset: int, newest_first: bool = False
) -> tuple[list[AuditEvent], int]:
    """One page of the events that match ``where``, in chain order (or newest first), and
    how many match in all. The REST API and the console both read through this."""
    query = _filtered(where)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    order = AuditEvent.seq.desc() if newest_first else AuditEvent.seq
    rows = session.scalars(query.order_by(order).limit(limit).offset(offset)).all()
    return list(rows), total


def as_record(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


@dataclass(frozen=True)
class Acting:
    """Who makes a change, and the key its audit event is chained with (the catalog's and
    the fleet's services take this; decisions carry a fuller context of their own)."""

    actor: str
    audit_key: bytes


def record(
    session: Session,
    *,
    clock: Clock,
    acting: Acting,
    action: str,
    object_type: str,
    object_id: int | str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append the audit event of a change made by ``acting``."""
    append(
        session,
        key=acting.audit_key,
        clock=clock,
        actor=acting.actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
    )
