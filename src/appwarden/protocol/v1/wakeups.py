"""The distributor: one per server process. It recompiles device policies right after
changes commit, and wakes the long-polls parked here when their device's policy changed,
in this process or in another one.

- After a commit that wrote outbox rows, the session hook :meth:`Distributor.nudge`\\ s it;
  it runs :func:`~appwarden.enforcement.reconcile.reconcile` in a thread until the outbox
  is empty. Every ``reconcile_interval_ms`` it sweeps too: changes other processes (the
  CLI) committed, policies the clock changed, and (at start) devices without a policy.
- A batch that changed devices bumps the policy generation and stamps those devices' rows
  with it (``seq``). Whoever notices a greater generation (after its own reconcile, on a
  PostgreSQL ``NOTIFY`` or by polling the generation row) reads the devices with
  ``seq > last seen`` and wakes their parked long-polls.
- On SIGTERM/SIGINT every parked long-poll answers at once, so the server's graceful
  shutdown can finish the requests in flight.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Any, Literal

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from appwarden.api.deps import Context
from appwarden.compliance import service as compliance
from appwarden.compliance import webhook
from appwarden.enforcement.changes import PENDING
from appwarden.enforcement.models import DevicePolicyVersion
from appwarden.enforcement.reconcile import BATCH, reconcile
from appwarden.enforcement.service import Current, document
from appwarden.enforcement.versions import CHANNEL, ISSUED, generation
from appwarden.fleet.membership import chunks
from appwarden.protocol.v1.parking import Documents, Known, Parked
from appwarden.protocol.v1.signing import prune_nonces

log = logging.getLogger(__name__)
Mode = Literal["notify", "poll", "local"]
_RETRY_S = 1.0
JUDGE_CHUNK = 250
#: While device writes are busy, the periodic judging looks again this often (seconds).
JUDGE_BACKOFF_S = 1.0
#: After waking long-polls, the periodic judging waits this long for their reports to
#: begin (until then the device writes are not yet busy, but about to be).
WOKEN_QUIET_S = 5.0


def mode_for(context: Context) -> Mode:
    """The wake-up mode in effect: ``auto`` is ``notify`` on PostgreSQL, else ``poll``."""
    wanted = context.settings.wakeups
    postgres = context.engine.dialect.name == "postgresql"
    if wanted == "auto":
        return "notify" if postgres else "poll"
    if wanted == "notify" and not postgres:
        return "poll"  # SQLite has no NOTIFY: reading one row is its way
    return wanted


class Distributor:
    """Recompiles after commits and wakes parked long-polls (see the module)."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.parked = Parked()
        self.documents = Documents()
        self.mode: Mode = mode_for(context)
        self.known = Known()
        # The map of known versions stands in for a database read only where every change
        # reaches this process's distributor: background reconcile on, and wake-ups from
        # other processes (NOTIFY or polling), not just this one's.
        self.known_enabled = context.settings.reconcile and self.mode in ("notify", "poll")
        self.last_seen = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signal: asyncio.Event | None = None
        self._reconcile_due = True
        self._check_due = False
        self._tasks: list[asyncio.Task[None]] = []
        #: Whether device reports are being recorded right now (set by the app to its
        #: :meth:`DeviceWrites.busy <appwarden.protocol.v1.batching.DeviceWrites.busy>`).
        self.busy: Callable[[], bool] = lambda: False
        self.woke_at = -math.inf  # loop time of the last wake-up that reached a long-poll
        self.listening = threading.Event()  # PostgreSQL LISTEN is in place (tests wait on it)
        event.listen(context.sessions, "after_commit", self._after_commit)

    # ------------------------------------------------------------------ signals in

    def _after_commit(self, session: Session) -> None:
        reconcile_due = bool(session.info.pop(PENDING, False))
        check_due = bool(session.info.pop(ISSUED, False))
        if reconcile_due or check_due:
            self.nudge(reconcile=reconcile_due, check=check_due)

    def nudge(self, *, reconcile: bool = True, check: bool = False) -> None:
        """Ask for a reconcile (and/or a generation check) soon; safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._mark, reconcile, check)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _mark(self, reconcile: bool, check: bool) -> None:
        self._reconcile_due |= reconcile
        self._check_due |= check
        if self._signal is not None:
            self._signal.set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._signal = asyncio.Event()
        self.last_seen = await asyncio.to_thread(self._generation)
        self._tasks.append(asyncio.create_task(self._run(), name="policy-distributor"))
        if self.context.settings.reconcile:
            self._tasks.append(asyncio.create_task(self._judging(), name="compliance-judging"))
        if self.mode == "notify":
            self._tasks.append(asyncio.create_task(self._listen(), name="policy-listen"))
        self._chain_signals()

    def stopping(self) -> None:
        """Answer every parked long-poll now (the server is shutting down)."""
        self.parked.release_all()

    async def stop(self) -> None:
        self.stopping()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._loop = None

    def _chain_signals(self) -> None:
        """Release parked long-polls on SIGTERM/SIGINT before the server's own handler
        starts its graceful shutdown (which waits for requests in flight)."""
        if threading.current_thread() is not threading.main_thread():
            return  # e.g. a test client running the app in a thread: no signals there
        loop = self._loop
        assert loop is not None  # noqa: S101 - started

        def chain(previous: Callable[[int, FrameType | None], Any] | int | None) -> Any:
            def handler(signum: int, frame: FrameType | None) -> None:
                loop.call_soon_threadsafe(self.stopping)
                if callable(previous):
                    previous(signum, frame)

            return handler

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, chain(signal.getsignal(signum)))

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self.context.settings
        sweep_s = settings.reconcile_interval_ms / 1000
        poll_s = settings.poll_interval_ms / 1000 if self.mode == "poll" else math.inf
        next_sweep = loop.time()
        first = True
        assert self._signal is not None  # noqa: S101 - started
        while True:
            sweep_in = next_sweep - loop.time() if settings.reconcile else math.inf
            timeout = min(sweep_in, poll_s)
            try:
                async with asyncio.timeout(None if math.isinf(timeout) else max(timeout, 0)):
                    await self._signal.wait()
            except TimeoutError:
                pass
            self._signal.clear()
            reconcile_now = settings.reconcile and (
                self._reconcile_due or loop.time() >= next_sweep
            )
            check = self._check_due or not math.isinf(poll_s)
            self._reconcile_due = self._check_due = False
            try:
                if reconcile_now:
                    next_sweep = loop.time() + sweep_s
                    changed = await asyncio.to_thread(self._reconcile, first)
                    check = bool(changed) or check
                    first = False
                if check:
                    await self._wake_changed()
            except Exception:  # noqa: BLE001 - keep distributing; the database may come back
                log.exception("policy distribution failed; retrying")
                self._reconcile_due = True
                await asyncio.sleep(_RETRY_S)

    async def _judging(self) -> None:
        """Bookkeeping, on its own clock and its own task: a device that reports is judged
        by its report; this catches the silent ones (pending, unreachable) and sends the
        webhooks.

        While reports pour in (a propagation), or are about to (long-polls were just
        woken), it waits: those devices are about to be judged by their own reports, and
        judging them twice would slow the reports down. It waits at most one more
        interval. A judging under way stops at its next chunk when that happens, and the
        rest waits likewise; once it has waited its interval it runs to the end.

        It has its own task so that it never holds up the wake-ups: right after a ban
        every device in scope is due, and a process that had begun judging them (tens of
        seconds at 100,000 devices) woke its parked long-polls only when it was done."""
        loop = asyncio.get_running_loop()
        judge_s = self.context.settings.judge_interval_s
        late = 0.0  # when a judging that waited for a quiet moment first fell due
        next_judge = loop.time() + judge_s
        while True:
            await asyncio.sleep(max(next_judge - loop.time(), 0))
            late = late or loop.time()
            if self.judging_waits(loop.time(), late, judge_s):
                next_judge = loop.time() + min(JUDGE_BACKOFF_S, judge_s)
                continue
            try:
                finished = await asyncio.to_thread(self._judge, late, judge_s)
            except Exception:  # noqa: BLE001 - keep judging; the database may come back
                log.exception("compliance judging failed; retrying")
                next_judge = loop.time() + _RETRY_S
                continue
            if finished:
                next_judge, late = loop.time() + judge_s, 0.0
            else:
                next_judge = loop.time() + min(JUDGE_BACKOFF_S, judge_s)

    def judging_waits(self, now: float, late_since: float, interval: float) -> bool:
        """Whether the periodic judging, due since ``late_since`` (loop times), waits: while
        state reports are being recorded or long-polls were woken within
        :data:`WOKEN_QUIET_S`, for at most one more ``interval``."""
        if now - late_since >= interval:
            return False
        return now - self.woke_at < WOKEN_QUIET_S or self.busy()

    def _reconcile(self, sweep: bool) -> set[str]:
        """Reconcile until the outbox is empty; the devices whose policy changed."""
        changed: set[str] = set()
        while True:
            started = time.perf_counter()
            with self.context.sessions() as session, session.begin():
                result = reconcile(session, self.context.clock.now(), sweep=sweep)
            sweep = False
            changed.update(result.device_ids)
            if result.devices_changed:
                log.info(
                    "policy generation %d: %d changes, %d documents, %d devices in %.3f s",
                    result.generation,
                    result.changes,
                    result.documents_compiled,
                    result.devices_changed,
                    time.perf_counter() - started,
                )
            if result.changes < BATCH:
                return changed

    def _judge(self, late_since: float, interval: float) -> bool:
        """Judge compliance again for every device due (its policy changed since it was
        last judged, never judged, gone silent), in short transactions so that state
        reports are not held up behind it; then send the webhooks queued. Whether it got
        through them all: it stops between chunks when :meth:`judging_waits` says so
        (``late_since`` and ``interval`` as there). In a thread."""
        context = self.context
        now = context.clock.now()
        with context.sessions() as session, session.begin():
            compliance.prune_report_ids(session, now)
            prune_nonces(session, now)
        with context.reading() as session, session.begin():
            due = sorted(compliance.due(session, now, context.settings))
        for part in chunks(due, JUDGE_CHUNK):
            if self.judging_waits(self._loop_time(), late_since, interval):
                return False
            with context.sessions() as session, session.begin():
                compliance.refresh(session, now, part, settings=context.settings)
        webhook.deliver_due(context.sessions, context.settings, context.clock)
        return True

    def _loop_time(self) -> float:
        """The event loop's clock (as :attr:`woke_at`), read from a thread."""
        loop = self._loop
        return loop.time() if loop is not None else time.monotonic()

    def _generation(self) -> int:
        with self.context.sessions() as session, session.begin():
            return generation(session)

    def _changed_since(self, seen: int) -> tuple[int, list[tuple[str, Current, datetime | None]]]:
        """The generation now and the devices changed after ``seen``: their version and
        when the clock changes it. A read-only transaction: on SQLite it takes no write
        lock, so polling every 100 ms does not queue behind device writes."""
        with self.context.reading() as session, session.begin():
            value = generation(session)
            if value <= seen or not (len(self.parked) or self.known_enabled):
                return value, []
            table = DevicePolicyVersion
            query = select(table.device_id, table.version, table.etag, table.next_change_at).where(
                table.seq > seen
            )
            changed = [
                (r.device_id, Current(r.version, r.etag), r.next_change_at)
                for r in session.execute(query)
            ]
            for etag in {c.etag for _d, c, _u in changed}:  # woken polls answer from the cache
                if self.documents.get(etag) is None:
                    stored = document(session, etag)
                    if stored is not None:
                        self.documents.put(etag, stored)
            return value, changed

    async def _wake_changed(self) -> None:
        value, changed = await asyncio.to_thread(self._changed_since, self.last_seen)
        if value > self.last_seen:
            self.last_seen = value
            if self.known_enabled:
                self.known.update(changed)
            woken = self.parked.wake((device_id, current) for device_id, current, _u in changed)
            if woken:
                self.woke_at = asyncio.get_running_loop().time()
                log.info("policy generation %d: woke %d long-polls", value, woken)

    async def _listen(self) -> None:
        """PostgreSQL ``LISTEN``: a notification means "check the generation"."""
        import psycopg

        url = self.context.engine.url.set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    conninfo, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self._mark(False, True)  # catch up on what was missed while not listening
                    self.listening.set()
                    async for _notice in connection.notifies():
                        self._mark(False, True)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - reconnect
                self.listening.clear()
                log.warning("LISTEN %s lost; reconnecting", CHANNEL, exc_info=True)
                await asyncio.sleep(_RETRY_S)
