"""Many agents in one event loop: the plan of a simulated fleet (who holds which app, who
stays offline, when each starts) and one shard of it running over shared HTTP clients.

A shard reports what happens as events ``(kind, index, value)`` through ``emit``:
``enrolled`` (value: the saved identity), ``synced`` (the first report accepted; value: wall
time), ``compliant`` (a report without the watched app accepted; wall time) and ``error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from appwarden.clock import SystemClock
from appwarden.sim.agent import Agent, AgentConfig
from appwarden.sim.client import (
    NETWORK_ERRORS,
    DeviceClient,
    Http,
    Identity,
    ProtocolError,
    make_http,
)
from appwarden.sim.inventory import InstalledApp
from appwarden.sim.packages import SimulatedPackageManager
from appwarden.sim.reports import Report

Emit = Callable[[str, int, Any], None]
#: Per shard: enrollments in flight. The server writes concurrent enrollments in batches,
#: so more in flight means fewer, larger transactions.
ENROLLING_AT_ONCE = 128
STARTING_AT_ONCE = 32  # per shard: first syncs (policy read and report) in flight


@dataclass(frozen=True)
class Share:
    app: InstalledApp
    share: float


def parse_install_base(spec: str) -> tuple[Share, ...]:
    """``APP[:SIGNER][=SHARE],...``: each app on that share of devices (default all)."""
    shares = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        app, _, raw = part.partition("=")
        share = float(raw) if raw else 1.0
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"the share in {part!r} must be between 0 and 1")
        shares.append(Share(InstalledApp.parse(app), share))
    return tuple(shares)


@dataclass(frozen=True)
class DeviceSpec:
    index: int
    apps: tuple[InstalledApp, ...]
    offline: bool
    delay: float


def plan_fleet(
    devices: int,
    install_base: tuple[Share, ...] = (),
    *,
    jitter: float = 0.0,
    offline_share: float = 0.0,
    seed: int = 1,
) -> list[DeviceSpec]:
    """Who holds what, who is offline, who starts when: the same for the same arguments.

    Shares are exact (``round(share * devices)`` devices), spread by a seeded shuffle."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible plan, not secrets
    holders: list[set[int]] = []
    for entry in install_base:
        chosen = rng.sample(range(devices), round(entry.share * devices))
        holders.append(set(chosen))
    offline = set(rng.sample(range(devices), round(offline_share * devices)))
    return [
        DeviceSpec(
            index=i,
            apps=tuple(e.app for e, held in zip(install_base, holders, strict=True) if i in held),
            offline=i in offline,
            delay=rng.uniform(0, jitter) if jitter > 0 else 0.0,
        )
        for i in range(devices)
    ]


@dataclass
class ShardConfig:
    """One event loop's part of the fleet (picklable: it crosses to a child process)."""

    server: str
    specs: list[DeviceSpec]
    token: str | None = None
    identities: dict[int, dict[str, str]] = field(default_factory=dict)
    local_address: str | None = None
    wait: int = 60
    watch_app: str | None = None
    attributes: dict[str, Any] = field(
        default_factory=lambda: {"platform": "android", "ownership": "corporate"}
    )
    seed: int = 1


class Shard:
    """Runs the agents of one :class:`ShardConfig` until ``stop`` is set."""

    def __init__(self, config: ShardConfig, emit: Emit) -> None:
        self.config = config
        self.emit = emit
        self.clock = SystemClock()
        self.clients: list[Http] = []
        self.enrolling = asyncio.Semaphore(ENROLLING_AT_ONCE)
        self.starting = asyncio.Semaphore(STARTING_AT_ONCE)
        self.agents: dict[int, Agent] = {}
        # Devices that start at once enroll before any first sync: a fleet is enrolled at
        # the server's enrollment rate, not slowed by the first reports of its other half.
        self._to_enroll = sum(
            1 for s in config.specs if not s.delay and s.index not in config.identities
        )
        self.enrolled = asyncio.Event()
        if not self._to_enroll:
            self.enrolled.set()

    def _http(self) -> Http:
        if not self.clients:
            self.clients.append(
                make_http(self.config.server, local_address=self.config.local_address)
            )
        return self.clients[0]

    def _hook(self, spec: DeviceSpec) -> Callable[[Agent, Report, dict[str, Any]], None]:
        watch = self.config.watch_app
        held = watch is not None and any(a.app_id == watch for a in spec.apps)
        state = {"synced": False, "compliant": False}

        def on_report(agent: Agent, report: Report, accepted: dict[str, Any]) -> None:
            now = time.time()
            if not state["synced"]:
                state["synced"] = True
                self.emit("synced", spec.index, now)
            if held and not state["compliant"]:
                if all(a.app_id != watch for a in report.inventory):
                    state["compliant"] = True
                    self.emit("compliant", spec.index, now)

        return on_report

    async def _retrying(
        self, agent: Agent, what: Callable[[], Any], *, again_on: tuple[int, ...] = (409, 429)
    ) -> None:
        """Start-up calls, retried with the agent's backoff while the server is busy."""
        while True:
            try:
                await what()
                agent.failures = 0
                return
            except NETWORK_ERRORS:
                await agent.back_off()
            except ProtocolError as error:
                if error.status not in again_on and error.status < 500:
                    raise
                await agent.back_off()

    async def _life(self, position: int, spec: DeviceSpec, stop: asyncio.Event) -> None:
        rng = random.Random(self.config.seed * 1_000_003 + spec.index)  # noqa: S311
        config = AgentConfig(wait=self.config.wait, attributes=dict(self.config.attributes))
        saved = self.config.identities.get(spec.index)
        agent = Agent(
            DeviceClient(self._http(), self.clock),
            SimulatedPackageManager(spec.apps),
            clock=self.clock,
            identity=Identity.from_document(saved) if saved else None,
            config=config,
            rng=rng,
            on_report=self._hook(spec),
        )
        self.agents[spec.index] = agent
        if spec.delay:
            await asyncio.sleep(spec.delay)
        if agent.identity is None:
            await self._enroll(agent, spec)
        if not spec.delay:
            await self.enrolled.wait()
        async with self.starting:
            await self._retrying(agent, lambda: agent.step(wait=0))
        if not spec.offline:
            await agent.run(stop)

    async def _enroll(self, agent: Agent, spec: DeviceSpec) -> None:
        try:
            token = self.config.token
            if not token:
                raise RuntimeError(f"device {spec.index} has no saved identity and no token")
            async with self.enrolling:
                # 409 here is a key held by another device: trying again cannot help.
                await self._retrying(agent, lambda: agent.enroll(token), again_on=(429,))
            assert agent.identity is not None  # noqa: S101 - set by enroll
            self.emit("enrolled", spec.index, agent.identity.document())
        finally:
            if not spec.delay:
                self._to_enroll -= 1
                if self._to_enroll <= 0:
                    self.enrolled.set()

    async def run(self, stop: asyncio.Event) -> None:
        async def guarded(position: int, spec: DeviceSpec) -> None:
            try:
                await self._life(position, spec, stop)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - one device's failure is reported
                self.emit("error", spec.index, f"{type(error).__name__}: {error}")

        tasks = [asyncio.create_task(guarded(n, spec)) for n, spec in enumerate(self.config.specs)]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)
            for client in self.clients:
                await client.aclose()
