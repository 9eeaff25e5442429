"""Scheduled pulls: each server process looks, every ``TICK_S``, for sources whose period
has turned and pulls them in a worker thread. The period's number (``slot``) is recorded
with a unique constraint, so of many server processes exactly one pulls each period; a
process that starts mid-period pulls at once unless another has already.
"""

from __future__ import annotations

import asyncio
import logging
import math

from anyio import to_thread

from appwarden.errors import Conflict
from appwarden.inventories.pull.runner import SCHEDULE_ACTOR, Pulling, pull, slot_of
from appwarden.inventories.pull.sources import Source, load

log = logging.getLogger(__name__)
#: How often due sources are looked for (seconds).
TICK_S = 15.0


class Schedule:
    """The scheduled sources of ``pulling.settings``, pulled as their periods turn."""

    def __init__(self, pulling: Pulling, *, tick_s: float = TICK_S) -> None:
        self.pulling, self.tick_s = pulling, tick_s
        self.sources: list[Source] = [
            s for s in load(pulling.settings.inventory_sources).values() if s.every_minutes
        ]
        self.done: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.sources:
            self._task = asyncio.create_task(self._run(), name="inventory-pulls")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self.tick_s)

    async def tick(self) -> None:
        """Pull, one after another, each source whose current period this process has not
        seen pulled yet."""
        for source in self.sources:
            slot = slot_of(source, self.pulling.clock.now())
            if slot is None or self.done.get(source.name, -math.inf) >= slot:
                continue
            try:
                await to_thread.run_sync(self._pull, source, slot, abandon_on_cancel=True)
            except Exception:  # the database is away: try again at the next tick
                log.exception("scheduled pull of %s could not run", source.name)
                continue
            self.done[source.name] = slot

    def _pull(self, source: Source, slot: int) -> None:
        try:
            record = pull(self.pulling, source, actor=f"{SCHEDULE_ACTOR}{source.name}", slot=slot)
        except Conflict:
            return  # another server process took this period's pull
        log.info(
            "pulled %s: %s, %d devices, %s",
            source.name,
            record.status,
            record.devices,
            record.error or "no error",
        )
