"""Group commit for device requests: one writer per server process.

When a ban takes force, thousands of devices check in and report within seconds. Each
signed request writes (its nonce) and each report writes more; as separate transactions
they queue for the database's write lock (SQLite has one writer) and pay a commit each.
Here requests wait in a queue; one task takes everything queued (up to :data:`MAX_BATCH`)
and records it in one transaction, in a thread of its own: the signatures and nonces
(:func:`~appwarden.protocol.v1.signing.authenticate_many`) and, for policy requests, the
devices' stored policy versions, then the state reports of the devices whose signatures
held (:func:`~appwarden.compliance.intake.accept_many`). Each request gets its own answer:
a refused one (a replayed nonce, a version never issued) does not hold up the others,
and if the batch fails as a whole its requests are retried one by one, so one bad
request fails alone. A request is answered only after its transaction committed.

Under a burst the queue can hold requests longer than their clients wait. A policy
check-in whose client has closed its connection (it timed out, and will ask again) is
dropped when its turn comes: its only effect would be an answer no one reads. A state
report is recorded all the same, as it is the device's state; its retry, under the same
report id, then finds it recorded.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

from anyio import CapacityLimiter, to_thread

from appwarden.api.deps import Context
from appwarden.compliance.intake import Incoming, accept_many, lock
from appwarden.compliance.wire import StateAccepted, StateReport
from appwarden.db import CHUNK, is_busy
from appwarden.enforcement.service import Current, stored_versions
from appwarden.errors import ClientClosed, DomainError
from appwarden.fleet.models import Device
from appwarden.protocol.v1.signing import SignedRequest, authenticate_many

log = logging.getLogger(__name__)
#: Requests recorded in one transaction at most: the devices of a batch fit one IN list.
MAX_BATCH = CHUNK
#: Seconds after its last state report during which the writer counts as busy.
BUSY_S = 1.0

Outcome = Device | StateAccepted | BaseException
#: Whether the request's client has gone (closed its connection); :meth:`Request.is_disconnected`.
Gone = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class SignedReport:
    """A state report whose signature is still to be checked (in the same transaction)."""

    report: StateReport
    body_sha256: str


@dataclass
class _Job:
    signed: SignedRequest | None = None  # authenticate this request
    policy: bool = False  # and read its device's stored policy version (into ``stored``)
    signed_report: SignedReport | None = None  # and record this report if ``signed`` holds
    report: Incoming | None = None  # that report, with its device, once ``signed`` held
    future: asyncio.Future[Outcome] = field(default_factory=asyncio.Future)
    stored: Current | None = None
    gone: Gone | None = None  # a check-in's: asked when the job's turn comes


class DeviceWrites:
    """The queue and its writer (see the module). Started on first use in the running
    event loop; :meth:`stop` records what is queued, then ends the writer."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self._queue: deque[_Job] = deque()
        self._ready: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limiter = CapacityLimiter(1)
        self.batches = 0  # how many transactions (tests and logs)
        self.report_batches = 0  # how many of them recorded state reports
        self.dropped = 0  # requests dropped because their client had gone
        self._last_reports = -math.inf  # time.monotonic() of the last batch with reports

    def busy(self, within_s: float = BUSY_S) -> bool:
        """Whether state reports are being recorded: some recorded in the last
        ``within_s`` seconds, or some waiting in the queue."""
        if time.monotonic() - self._last_reports < within_s:
            return True
        # A snapshot first: the compliance judging asks from its thread, and iterating the
        # deque itself while the event loop appends to it raises RuntimeError.
        return any(job.signed_report is not None for job in tuple(self._queue))

    async def authenticate(self, signed: SignedRequest) -> Device:
        return cast(Device, await self._submit(_Job(signed=signed)))

    async def authenticate_for_policy(
        self, signed: SignedRequest, gone: Gone | None = None
    ) -> tuple[Device, Current | None]:
        """The device, and its stored policy version if that is current, read in the same
        transaction: a check-in then needs no second trip to a thread and the database.
        Dropped unrecorded if ``gone()`` says its client has left when its turn comes."""
        job = _Job(signed=signed, policy=True, gone=gone)
        device = cast(Device, await self._submit(job))
        return device, job.stored

    async def signed_report(self, signed: SignedRequest, report: SignedReport) -> StateAccepted:
        """Check the request's signature and record its report, in one transaction (a
        device's report then costs one trip through the queue, not two). A refused
        signature raises :class:`~appwarden.errors.Unauthenticated` and records nothing."""
        job = _Job(signed=signed, signed_report=report)
        return cast(StateAccepted, await self._submit(job))

    async def _submit(self, job: _Job) -> Outcome:
        ready = self._ensure_running()
        self._queue.append(job)
        ready.set()
        outcome = await job.future
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _ensure_running(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if self._ready is None or self._task is None or self._task.done() or self._loop is not loop:
            # A new loop (a test client without its lifespan opens one per request): the
            # queue of the old one is empty, as its requests were answered.
            self._loop, self._ready = loop, asyncio.Event()
            self._task = loop.create_task(self._run(self._ready), name="appwarden-device-writes")
        return self._ready

    async def stop(self) -> None:
        """Record what is queued, then end the writer."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        while self._queue:
            await self._drain()

    async def _run(self, ready: asyncio.Event) -> None:
        while True:
            await ready.wait()
            ready.clear()
            while self._queue:
                await asyncio.shield(self._drain())

    async def _drain(self) -> None:
        taken = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_BATCH))]
        batch: list[_Job] = []
        for job in taken:
            if job.gone is not None and await job.gone():
                self.dropped += 1
                if not job.future.done():
                    job.future.set_result(ClientClosed("the client closed its connection"))
            else:
                batch.append(job)
        if not batch:
            return
        outcomes = await to_thread.run_sync(self._record, batch, limiter=self._limiter)
        for job, outcome in zip(batch, outcomes, strict=True):
            if not job.future.done():
                job.future.set_result(outcome)

    def _record(self, jobs: list[_Job], *, tries: int = 2) -> list[Outcome]:
        """Record ``jobs`` in one transaction; if that fails, each in one of its own.

        A batch that could not take the database's write lock in time is no request's
        fault: it is tried again as a whole (``tries`` times in all), and then each of its
        requests fails with it, rather than taking the lock once per request."""
        try:
            return self._transaction(jobs)
        except Exception as error:  # noqa: BLE001 - the batch fails, its requests are retried
            if is_busy(error):
                log.warning(
                    "a batch of %d device requests waited too long for the database (%s)%s",
                    len(jobs),
                    getattr(error, "orig", error),  # the driver's message, not the SQL
                    "; again" if tries > 1 else "",
                )
                if tries > 1:
                    return self._record(jobs, tries=tries - 1)
                return [error] * len(jobs)
            if len(jobs) == 1:
                return [error]
            log.warning("a batch of %d device requests failed (%s); one by one", len(jobs), error)
            return [self._record([job])[0] for job in jobs]

    def _transaction(self, jobs: list[_Job]) -> list[Outcome]:
        context = self.context
        outcomes: list[Outcome | None] = [None] * len(jobs)
        with context.sessions() as session, session.begin():
            session.connection()  # begins the transaction: on SQLite, takes the write lock
            signing = [i for i, job in enumerate(jobs) if job.signed is not None]
            signed = [job.signed for job in jobs if job.signed is not None]
            checked = authenticate_many(session, signed, context.clock.now())
            for index, signer in zip(signing, checked, strict=True):
                outcomes[index] = signer
                job = jobs[index]
                if job.signed_report is not None:  # recorded only if the signature holds
                    report = job.signed_report
                    job.report = None
                    if isinstance(signer, Device):
                        job.report = Incoming(signer, report.report, report.body_sha256)
            lock(session, [job.report.device.id for job in jobs if job.report is not None])
            # The reports' time is read only now, holding the write lock (SQLite) or the
            # reporting devices' rows (PostgreSQL), so no judgement committed before is
            # newer than them. Were one newer, its rules would count as taking force after
            # the report, and the device would stay pending until it next reported, which
            # it may never do.
            now = context.clock.now()
            reading = [
                jobs[i] for i in signing if jobs[i].policy and isinstance(outcomes[i], Device)
            ]
            if reading:
                ids = [cast(SignedRequest, job.signed).device_id for job in reading]
                stored = stored_versions(session, ids, now=now)
                for job in reading:
                    job.stored = stored.get(cast(SignedRequest, job.signed).device_id)
            reporting = [i for i, job in enumerate(jobs) if job.report is not None]
            reports = [job.report for job in jobs if job.report is not None]
            answers = accept_many(session, reports, now=now, settings=context.settings, locked=True)
            for index, answer in zip(reporting, answers, strict=True):
                outcomes[index] = answer
        self.batches += 1
        if reports:
            self._last_reports = time.monotonic()
            self.report_batches += 1
        return [o if o is not None else DomainError("not recorded") for o in outcomes]
