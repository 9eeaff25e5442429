"""A propagation drill with a fault in the middle, and the checks that follow every fault.

A real ``appwarden serve`` (restartable on its port), the drill's people, and a simulated
fleet of reference agents in this process. Half the fleet holds the app; a ban of it is
approved, and the fault is injected at once, while the devices are fetching the new policy
and reporting the removal. Then, with the server back:

- every device converges: the agents holding the app report it gone, and on the server
  every device's last report applied its current policy version and lists no banned app;
- nothing is lost or doubled: exactly one ``removed`` event per holder is recorded;
- ``appwarden audit verify`` passes (run as the operator would, in a process of its own).

The agents' HTTP answers are counted by status (and transport failures), for the record.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from appwarden.compliance.models import DeviceEvent, DeviceState, InstalledApp
from appwarden.db import make_engine
from appwarden.enforcement.models import DevicePolicyVersion
from appwarden.fleet.models import Device
from appwarden.sim import fleet as sim_fleet
from appwarden.sim.client import Answer, Http
from appwarden.sim.drill_api import DrillApi, Tokens
from appwarden.sim.drill_server import LocalServer, bootstrap_people, server_env, sign_in
from appwarden.sim.fleet import Share
from appwarden.sim.inventory import InstalledApp as Held
from appwarden.sim.simulate import SimulationOptions, build_fleet
from tests.conftest import APPS, require

APP = "com.example.faults"
GROUP = "fault-drill"
EVIDENCE = "urzip-release.apk"
CONVERGE_S = 180.0


class CountingHttp:
    """The agents' HTTP client, counting answers by status and transport failures."""

    def __init__(self, inner: Http, seen: Counter[str]) -> None:
        self.inner, self.seen = inner, seen

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Answer:
        try:
            answer = await self.inner.request(method, target, headers, body, timeout)
        except Exception as error:
            self.seen[f"transport:{type(error).__name__}"] += 1
            raise
        self.seen[str(answer.status)] += 1
        return answer

    async def aclose(self) -> None:
        await self.inner.aclose()


def count_answers(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count what the agents of fleets built from now on see (in this process)."""
    seen: Counter[str] = Counter()
    make = sim_fleet.make_http

    def counting(base_url: str, *, local_address: str | None = None) -> Http:
        return CountingHttp(make(base_url, local_address=local_address), seen)

    monkeypatch.setattr(sim_fleet, "make_http", counting)
    return seen


def audit_verify(server: LocalServer) -> str:
    """``appwarden audit verify`` against the server's data folder and database."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", "from appwarden.cli.main import main; main()", "audit", "verify"],
        env=server_env(server.data_dir, server.database_url),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]  # "ok: N events, chain intact"


@dataclass(frozen=True)
class Converged:
    """The server's view of the fleet after the fault."""

    devices: int
    on_current_version: int
    holding_the_app: int
    removed_events: int
    devices_with_removal: int


def server_view(server: LocalServer) -> Converged:
    engine = make_engine(server.settings.database, pool_size=1)
    try:
        with engine.connect() as connection:
            current = (
                select(func.count())
                .select_from(DeviceState)
                .join(DevicePolicyVersion, DevicePolicyVersion.device_id == DeviceState.device_id)
                .where(DeviceState.applied_version == DevicePolicyVersion.version)
            )
            removed = select(DeviceEvent.device_id).where(
                DeviceEvent.kind == "removed", DeviceEvent.app_id == APP
            )
            rows = list(connection.scalars(removed))
            return Converged(
                devices=int(connection.scalar(select(func.count()).select_from(Device)) or 0),
                on_current_version=int(connection.scalar(current) or 0),
                holding_the_app=int(
                    connection.scalar(select(func.count()).where(InstalledApp.app_id == APP)) or 0
                ),
                removed_events=len(rows),
                devices_with_removal=len(set(rows)),
            )
    finally:
        engine.dispose()


@dataclass
class Outcome:
    """What one drill with a fault saw (printed for docs/reliability.md)."""

    devices: int
    holders: int
    compliant_at_fault: int = 0
    outage_s: float = 0.0
    converged_s: float = 0.0  # from the server answering again to the whole fleet converged
    answers: Counter[str] = field(default_factory=Counter)
    audit: str = ""
    view: Converged | None = None

    def line(self, name: str) -> str:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(self.answers.items()))
        view = self.view
        converged = view.on_current_version if view else 0
        removed = view.removed_events if view else 0
        return (
            f"[{name}] devices {self.devices}, holders {self.holders}, compliant when the "
            f"fault hit {self.compliant_at_fault}/{self.holders}, outage {self.outage_s:.2f} s, "
            f"converged {converged}/{self.devices} {self.converged_s:.2f} s after, "
            f"removed events {removed}; answers {{{answers}}}; audit {self.audit}"
        )


Fault = Callable[[LocalServer], Awaitable[None]]


def people_tokens(server: LocalServer, folder: Path) -> Tokens:
    people = bootstrap_people(server.settings, folder)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return Tokens(
            operator=sign_in(client, people["operator"]),
            analyst=sign_in(client, people["analyst"]),
            approver=sign_in(client, people["approver"]),
        )


def new_server(folder: Path, database_url: str | None) -> LocalServer:
    server = LocalServer(folder / "server", database_url=database_url)
    bootstrap_people(server.settings, folder)
    return server


async def drill_with_fault(
    server: LocalServer,
    folder: Path,
    fault: Fault,
    answers: Counter[str],
    *,
    devices: int = 60,
) -> Outcome:
    """Start ``server``, sync a fleet, approve a ban, inject ``fault`` (which leaves the
    server answering again), and wait until the whole fleet converged; then check."""
    evidence = require(APPS / EVIDENCE)
    server.start()
    tokens = people_tokens(server, folder)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        api = DrillApi(http, tokens)
        group_id = await api.group(GROUP)
        assessment = await api.evidence(APP, evidence)
        options = SimulationOptions(
            server=server.url,
            devices=devices,
            token=await api.enrollment_token(group_id, devices + 10),
            install_base=(Share(Held(APP), 0.5),),
            state_dir=folder / "fleet",
            wait=30,
            watch_app=APP,
        )
        fleet = build_fleet(options)
        holders = {s.index for shard in fleet.shards for s in shard.specs if s.apps}
        outcome = Outcome(devices=devices, holders=len(holders))
        await fleet.start()
        try:
            synced = await fleet.wait_for(lambda s: len(s.synced) >= devices, 120)
            assert synced, f"only {len(fleet.status.synced)} devices synced: {fleet.status.errors}"
            number = await api.propose_ban(APP, GROUP, assessment)
            await api.approve_interim(number)
            outcome.compliant_at_fault = len(holders & fleet.status.compliant.keys())
            down = time.monotonic()
            await fault(server)
            up = time.monotonic()
            outcome.outage_s = up - down
            converged = await _converge(fleet, holders, server)
            outcome.converged_s = time.monotonic() - up
            assert converged, f"not converged: {fleet.status} {server_view(server)}"
        finally:
            await fleet.stop()
    assert fleet.status.errors == [], fleet.status.errors[:5]
    outcome.answers = Counter(answers)
    outcome.view = server_view(server)
    outcome.audit = audit_verify(server)
    check(outcome)
    return outcome


async def _converge(fleet: Any, holders: set[int], server: LocalServer) -> bool:
    deadline = time.monotonic() + CONVERGE_S
    done = await fleet.wait_for(lambda s: holders <= s.compliant.keys(), CONVERGE_S)
    while done:
        view = await asyncio.to_thread(server_view, server)
        if view.on_current_version == view.devices and view.holding_the_app == 0:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.5)
    return False


def check(outcome: Outcome) -> None:
    """Every device converged; one removal recorded per holder, none lost, none doubled."""
    view = outcome.view
    assert view is not None
    assert view.devices == outcome.devices
    assert view.on_current_version == outcome.devices
    assert view.holding_the_app == 0
    assert view.removed_events == outcome.holders, view
    assert view.devices_with_removal == outcome.holders, view
    assert outcome.audit.startswith("ok: "), outcome.audit
