"""``POST /v1/enroll`` in batches: the requests that arrive while one batch is written are
written together in the next one, in one transaction.

Per batch, not per device: one transaction and one commit, one lock on the enrollment
tokens, one read of the audit chain's head, one insert per table. Each device still gets
its own checks, its own answer and its own audit event, in the order the requests came.

The rate limit per client address counts in the same transaction: attempts (enrolled or
refused with 401/422; a 429 is not an attempt) are summed per address and minute in
:class:`~appwarden.protocol.models.EnrollmentCount`, over every minute that began less than
15 minutes before the current one. So an attempt counts for 15 to 16 minutes, and no
15-minute span ever sees more than the limit. Batches take turns: on SQLite through the
write lock every transaction takes at its start, on PostgreSQL through a transaction-level
advisory lock, so concurrent batches in several server processes count and spend exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from appwarden.api.deps import Context
from appwarden.errors import DomainError, Invalid, RateLimited
from appwarden.fleet.enrollment import Enrollment, redeem_many
from appwarden.protocol.models import EnrollmentCount

WINDOW = timedelta(minutes=15)
#: Most requests in one batch (one transaction).
MAX_BATCH = 200
# Any constant: the advisory lock that makes enrollment batches take turns on PostgreSQL.
_ENROLL_LOCK = 0x4157_454E  # "AWEN"


@dataclass(frozen=True)
class Attempt:
    """One call of ``POST /v1/enroll``: its client address and its checked body, or the
    422 its body earned (which still counts as an attempt)."""

    address: str
    enrollment: Enrollment | None
    invalid: Invalid | None = None


Result = str | DomainError  # the new device's id, or the error to answer with


def _minute(now: datetime) -> int:
    return int(now.timestamp()) // 60


def admit(session: Session, *, addresses: Sequence[str], now: datetime, limit: int) -> list[bool]:
    """Which of these attempts (in order, one per address given) are within the limit of
    ``limit`` per address and window; those admitted are counted. The caller holds the
    turn (see :func:`take_turn`) and commits."""
    current = _minute(now)
    first = current - int(WINDOW.total_seconds()) // 60
    distinct = sorted(set(addresses))
    session.execute(
        delete(EnrollmentCount).where(
            EnrollmentCount.address.in_(distinct), EnrollmentCount.minute < first
        )
    )
    used: dict[str, int] = {
        address: int(total or 0)
        for address, total in session.execute(
            select(EnrollmentCount.address, func.sum(EnrollmentCount.attempts))
            .where(EnrollmentCount.address.in_(distinct), EnrollmentCount.minute >= first)
            .group_by(EnrollmentCount.address)
        )
    }
    added: dict[str, int] = {}
    verdicts = []
    for address in addresses:
        allowed = used.get(address, 0) + added.get(address, 0) < limit
        if allowed:
            added[address] = added.get(address, 0) + 1
        verdicts.append(allowed)
    if added:
        _count(session, current, added)
    return verdicts


def _count(session: Session, minute: int, added: dict[str, int]) -> None:
    """Add ``added`` attempts to each address's row of ``minute`` (an atomic upsert)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(EnrollmentCount)
    statement = statement.on_conflict_do_update(
        index_elements=[EnrollmentCount.address, EnrollmentCount.minute],
        set_={"attempts": EnrollmentCount.attempts + statement.excluded.attempts},
    )
    rows = [{"address": a, "minute": minute, "attempts": n} for a, n in sorted(added.items())]
    session.execute(statement, rows)


def take_turn(session: Session) -> None:
    """Wait for the other enrollment batches (of any server process) to commit first."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ENROLL_LOCK})


def enroll_batch(context: Context, requests: Sequence[Attempt]) -> list[Result]:
    """Count, check and enroll ``requests`` in one transaction (in a worker thread)."""
    now = context.clock.now()
    results: list[Result | None] = [None] * len(requests)
    with context.sessions() as session, session.begin():
        take_turn(session)
        verdicts = admit(
            session,
            addresses=[r.address for r in requests],
            now=now,
            limit=context.settings.enroll_limit,
        )
        valid: list[tuple[int, Enrollment]] = []
        for n, (request, allowed) in enumerate(zip(requests, verdicts, strict=True)):
            if not allowed:
                results[n] = RateLimited(
                    "too many enrollment attempts from this address; wait 15 minutes"
                )
            elif request.enrollment is None:
                results[n] = request.invalid or Invalid("malformed enrollment")
            else:
                valid.append((n, request.enrollment))
        redeemed = redeem_many(
            session,
            clock=context.clock,
            audit_key=context.audit_key,
            enrollments=[enrollment for _, enrollment in valid],
        )
        for (n, _), outcome in zip(valid, redeemed, strict=True):
            results[n] = outcome if isinstance(outcome, DomainError) else outcome.id
    return [r for r in results if r is not None]


class Enroller:
    """Batches one server process's enrollments: requests wait in a queue while a batch is
    written; whoever finds no batch running starts a task that writes batches until the
    queue is empty. A batch that fails as a whole is written again one request at a time,
    so one bad request cannot fail the others."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._queue: list[tuple[Attempt, asyncio.Future[Result]]] = []
        self._draining: asyncio.Task[None] | None = None
        self.batches = 0  # batches of enrollments written (the memory trimmer's activity)

    async def enroll(self, request: Attempt) -> str:
        """The new device's id; raises the request's error (401, 422, 429)."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain(), name="enrollment-batches")
        result = await asyncio.shield(future)
        if isinstance(result, DomainError):
            raise result
        return result

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            requests = [request for request, _ in batch]
            self.batches += 1
            outcomes: list[Result | BaseException]
            try:
                outcomes = list(await asyncio.to_thread(enroll_batch, self.context, requests))
            except Exception as error:  # noqa: BLE001 - answered below, or retried alone
                outcomes = [error] if len(batch) == 1 else [await self._alone(r) for r in requests]
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException) and not isinstance(outcome, DomainError):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def _alone(self, request: Attempt) -> Result | BaseException:
        try:
            [result] = await asyncio.to_thread(enroll_batch, self.context, [request])
        except Exception as error:  # noqa: BLE001 - this request's own failure
            return error
        return result
