"""A simulated fleet over as many processes and loopback source addresses as it needs.

Limits of the machines it runs on shape the split: a process holds at most 20,000 open
files, and one source address reaches one server address over ~28,000 ephemeral ports. So
a process runs at most :data:`MAX_AGENTS_PER_PROCESS` agents, each process gets its own
source address (127.0.0.2, 127.0.0.3, ... when the server is on loopback), and all the
agents of a process share one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as MpEvent
from typing import Any
from urllib.parse import urlsplit

from appwarden.openfiles import raise_open_files
from appwarden.sim.fleet import DeviceSpec, Shard, ShardConfig

MAX_AGENTS_PER_PROCESS = 15_000


@dataclass
class FleetStatus:
    """What the shards reported so far (wall-clock times)."""

    devices: int
    enrolled: dict[int, dict[str, str]] = field(default_factory=dict)
    synced: dict[int, float] = field(default_factory=dict)
    compliant: dict[int, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    failed: set[int] = field(default_factory=set)  # devices whose agent stopped on an error

    def settled(self) -> int:
        """Devices that reported once or gave up."""
        return len(self.synced.keys() | self.failed)

    def apply(self, kind: str, index: int, value: Any) -> None:
        if kind == "enrolled":
            self.enrolled[index] = value
        elif kind == "synced":
            self.synced.setdefault(index, float(value))
        elif kind == "compliant":
            self.compliant.setdefault(index, float(value))
        else:
            self.errors.append(f"device {index}: {value}")
            self.failed.add(index)


def loopback(server: str) -> bool:
    host = urlsplit(server).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split(
    specs: list[DeviceSpec],
    template: ShardConfig,
    *,
    processes: int,
    source_addresses: bool = True,
) -> list[ShardConfig]:
    """Shards of at most :data:`MAX_AGENTS_PER_PROCESS` agents, at least ``processes`` of
    them (0: one shard, run in the calling process), each from its own loopback address."""
    count = max(processes, math.ceil(len(specs) / MAX_AGENTS_PER_PROCESS), 1)
    use_addresses = source_addresses and loopback(template.server) and processes > 0
    shards = []
    for n in range(count):
        part = specs[n::count]
        shards.append(
            ShardConfig(
                server=template.server,
                specs=part,
                token=template.token,
                identities={
                    s.index: template.identities[s.index]
                    for s in part
                    if s.index in template.identities
                },  # fmt: skip
                local_address=f"127.0.0.{2 + n}" if use_addresses else None,
                wait=template.wait,
                watch_app=template.watch_app,
                attributes=template.attributes,
                seed=template.seed,
            )
        )
    return shards


def die_with_parent() -> None:
    """Have the kernel send this process SIGTERM when its parent ends, however it ends
    (Linux's PR_SET_PDEATHSIG; nothing elsewhere). Call it first thing in a child, or as a
    ``preexec_fn``: a simulator or server left behind by a killed benchmark keeps loading
    the machine the next measurement runs on."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


async def _child_main(config: ShardConfig, out: Any, stop_flag: MpEvent) -> None:
    batch: list[tuple[str, int, Any]] = []
    stop = asyncio.Event()

    def emit(kind: str, index: int, value: Any) -> None:
        batch.append((kind, index, value))

    async def pump() -> None:
        while not stop.is_set():
            if stop_flag.is_set():
                stop.set()
            if batch:
                out.put(list(batch))
                batch.clear()
            await asyncio.sleep(0.05)

    pumping = asyncio.create_task(pump())
    await Shard(config, emit).run(stop)
    await pumping
    if batch:
        out.put(list(batch))


def _child(config: ShardConfig, out: Any, stop_flag: MpEvent, parent: int) -> None:
    die_with_parent()
    if os.getppid() != parent:  # the parent ended before the line above took effect
        return
    raise_open_files()
    asyncio.run(_child_main(config, out, stop_flag))


class Fleet:
    """Runs shards (in this event loop when there is one shard and ``in_process``, else one
    child process each) and gathers their events into :attr:`status`."""

    def __init__(
        self,
        shards: list[ShardConfig],
        *,
        in_process: bool,
        on_event: Callable[[str, int, Any], None] | None = None,
    ) -> None:
        self.shards = shards
        self.in_process = in_process
        self.status = FleetStatus(devices=sum(len(s.specs) for s in shards))
        self.on_event = on_event
        self._changed = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._children: list[multiprocessing.process.BaseProcess] = []
        self._ctx = multiprocessing.get_context("spawn")
        self._stop_flag: MpEvent | None = None
        self._queue: Any = None
        self._reader: threading.Thread | None = None

    def _apply(self, kind: str, index: int, value: Any) -> None:
        self.status.apply(kind, index, value)
        if self.on_event is not None:
            self.on_event(kind, index, value)
        self._changed.set()

    async def start(self) -> None:
        if self.in_process:
            for config in self.shards:
                shard = Shard(config, self._apply)
                self._tasks.append(asyncio.create_task(shard.run(self._stop)))
            return
        loop = asyncio.get_running_loop()
        self._stop_flag, self._queue = self._ctx.Event(), self._ctx.Queue()
        for config in self.shards:
            child = self._ctx.Process(
                target=_child, args=(config, self._queue, self._stop_flag, os.getpid())
            )
            child.start()
            self._children.append(child)

        def read() -> None:
            while True:
                try:
                    batch = self._queue.get(timeout=0.2)
                except queue.Empty:
                    if not any(c.is_alive() for c in self._children):
                        return
                    continue
                if batch is None:
                    return
                for kind, index, value in batch:
                    loop.call_soon_threadsafe(self._apply, kind, index, value)

        self._reader = threading.Thread(target=read, name="fleet-events", daemon=True)
        self._reader.start()

    def alive(self) -> bool:
        if self.in_process:
            return any(not t.done() for t in self._tasks)
        return any(c.is_alive() for c in self._children)

    async def wait_for(self, done: Callable[[FleetStatus], bool], timeout: float) -> bool:
        """Wait until ``done(status)`` holds (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while not done(self.status):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.alive():
                return done(self.status)
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
        return True

    async def stop(self) -> None:
        self._stop.set()
        if self._stop_flag is not None:
            self._stop_flag.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for child in self._children:
            await asyncio.to_thread(child.join, 30)
            if child.is_alive():
                child.terminate()
        if self._reader is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._reader.join, 5)
        await asyncio.sleep(0)  # let the last events land
