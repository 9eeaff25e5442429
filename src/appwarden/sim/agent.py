"""The reference agent: enroll, long-poll the policy, enforce it on the package manager,
report state, and keep enforcing from the cached policy while the server is away.

One :class:`Agent` is one device; thousands share one event loop (:mod:`.fleet`). Every
request is signed (:mod:`.client`); a report that fails on the network is sent again with
the same report id; reconnects back off exponentially with jitter.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appwarden.clock import Clock
from appwarden.sim.client import NETWORK_ERRORS, DeviceClient, Identity, ProtocolError
from appwarden.sim.inventory import InstalledApp
from appwarden.sim.packages import Event, InstallResult, SimulatedPackageManager
from appwarden.sim.policy import CachedPolicy
from appwarden.sim.reports import Report, ReportBook

ReportHook = Callable[["Agent", Report, dict[str, Any]], None]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class AgentConfig:
    wait: int = 60  # long-poll seconds (the server allows 0-300)
    min_interval: float = 1.0  # least time between two policy requests answered 304
    backoff_base: float = 0.5
    backoff_cap: float = 60.0
    attributes: dict[str, Any] = field(
        default_factory=lambda: {"platform": "android", "ownership": "corporate"}
    )


class Retry(Exception):
    """Go round again at once (the policy is stale or the inventory base was lost)."""


class Agent:
    def __init__(
        self,
        client: DeviceClient,
        packages: SimulatedPackageManager,
        *,
        clock: Clock,
        identity: Identity | None = None,
        policy: CachedPolicy | None = None,
        config: AgentConfig | None = None,
        rng: random.Random | None = None,
        on_report: ReportHook | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.client = client
        self.packages = packages
        self.clock = clock
        self.identity = identity
        self.policy = policy
        self.config = config or AgentConfig()
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.on_report = on_report
        self.sleep = sleep
        self.book = ReportBook()
        self.failures = 0
        self.online = False
        self._stale = policy is None
        self._enroll_key: Ed25519PrivateKey | None = None

    # -- identity -------------------------------------------------------------------------
    async def enroll(self, token: str) -> Identity:
        # One key for every try: a try whose answer was lost made a device, and the server
        # answers the next try (same key, same token) with that device, not a second one.
        if self._enroll_key is None:
            self._enroll_key = Identity.generate_key()
        self.identity = await self.client.enroll(token, self.config.attributes, self._enroll_key)
        return self.identity

    def _me(self) -> Identity:
        if self.identity is None:
            raise RuntimeError("the agent is not enrolled")
        return self.identity

    # -- enforcement (works offline) ------------------------------------------------------
    def enforce(self) -> list[Event]:
        """Apply the cached policy by the agent's clock; the events are queued to report."""
        if self.policy is None:
            return []
        events = self.packages.enforce(self.policy, self.clock.now())
        self.book.record(events)
        return events

    async def install(self, app: InstalledApp) -> InstallResult:
        """Try to install ``app``: refused if the cached policy bans or blocks it (or, in
        allow-list mode, does not list it). Decided on the device, offline too."""
        result = self.packages.install(self.policy, app, self.clock.now())
        self.book.record(list(result.events))
        return result

    def next_lapse(self) -> datetime | None:
        """When the cached policy next changes by the clock alone (a rule's end, a waiver's)."""
        if self.policy is None:
            return None
        now = self.clock.now()
        times = [t for r in self.policy.rules for t in (r.expires_at, r.waived_until) if t]
        return min((t for t in times if t > now), default=None)

    # -- protocol -------------------------------------------------------------------------
    async def fetch(self, wait: int) -> bool:
        """Fetch the policy (long-polling ``wait`` s); True if a new one arrived."""
        etag = None if self._stale or self.policy is None else self.policy.etag
        answer = await self.client.policy(self._me(), etag, wait if etag else 0)
        self._stale = False
        if answer.body is None:
            return False
        self.policy = CachedPolicy.from_response(answer.body)
        return True

    async def report(self) -> dict[str, Any] | None:
        """Send what the server does not know yet (the same report again after a failure)."""
        if self.policy is None or not self.book.due(self.packages.inventory(), self.policy.version):
            return None
        report = self.book.next(self.packages.inventory(), self.policy.version)
        try:
            accepted = await self.client.report(self._me(), report.body)
        except ProtocolError as error:
            if error.status != 409:
                raise
            if "inventory" in error.type:
                self.book.forget_inventory()
            else:  # an applied version the server never issued: start from its policy
                self.book.forget_inventory()
                self._stale = True
            raise Retry(str(error)) from error
        self.book.accepted(report)
        if int(accepted.get("policy_version", 0)) > self.policy.version:
            self._stale = True
        if self.on_report is not None:
            self.on_report(self, report, accepted)
        return accepted

    def _wait(self) -> int:
        wait = self.config.wait
        lapse = self.next_lapse()
        if lapse is not None:
            seconds = int((lapse - self.clock.now()).total_seconds()) + 1
            wait = max(1, min(wait, seconds))
        return wait

    async def step(self, wait: int | None = None) -> bool:
        """One round: enforce by the clock, report, wait for a policy change (``wait``
        seconds, by default the configured long-poll bounded by the next lapse), enforce
        and report it. Returns whether a new policy arrived. Network errors propagate."""
        self.enforce()
        await self.report()
        if wait is None:
            wait = self._wait()
        changed = await self.fetch(0 if self._stale or self.policy is None else wait)
        self.online = True
        self.enforce()
        await self.report()
        return changed

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Rounds until ``stop`` is set; backs off (with jitter) while the server is away."""
        loop = asyncio.get_running_loop()
        while stop is None or not stop.is_set():
            started = loop.time()
            try:
                changed = await self.step()
            except Retry:
                continue
            except NETWORK_ERRORS:
                await self.back_off()
                continue
            except ProtocolError as error:
                if error.status in (401, 403) or error.status == 422:
                    raise
                await self.back_off()
                continue
            self.failures = 0
            elapsed = loop.time() - started
            if not changed and elapsed < self.config.min_interval:
                await self.sleep(self.config.min_interval - elapsed)

    async def back_off(self) -> None:
        self.online = False
        self.enforce()  # offline: the cached policy still binds, by the clock
        delay = min(self.config.backoff_cap, self.config.backoff_base * 2**self.failures)
        self.failures += 1
        await self.sleep(delay / 2 + self.rng.uniform(0, delay / 2))

    # -- saved state ----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """What ``appwarden agent`` keeps between runs (the key included: keep it private)."""
        return {
            "identity": self._me().document() if self.identity else None,
            "policy": self.policy.response() if self.policy else None,
            "apps": [a.document() for a in self.packages.inventory()],
        }

    @staticmethod
    def restore(
        raw: dict[str, Any],
    ) -> tuple[Identity | None, CachedPolicy | None, list[InstalledApp]]:
        identity = Identity.from_document(raw["identity"]) if raw.get("identity") else None
        policy = CachedPolicy.from_response(raw["policy"]) if raw.get("policy") else None
        apps = [InstalledApp(str(a["app_id"]), a.get("signer")) for a in raw.get("apps", ())]
        return identity, policy, apps
