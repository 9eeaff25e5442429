"""A propagation drill with a fault in the middle, and the checks that follow every fault.

A real ``appwarden serve`` (restartable on its port), the drill's people, and a simulated
fleet of reference agents in this process. Half the fleet holds the app; a ban of it is
approved, and the fault is injected at once, while the devices are fetching the new policy
and reporting the removal. Then, with the server back:

- every device converges: each agent holds the policy version the server issued it last,
  the agents holding the app report it gone, no device's inventory on the server lists it,
  and the server judges every device compliant with the ban;
- nothing is lost or doubled: exactly one ``removed`` event per holder is recorded;
- ``appwarden audit verify`` passes (run as the operator would, in a process of its own).

The agents' HTTP answers are counted by status (and transport failures), for the record.
"""

from __future__ import annotations

import asyncio
import os
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

from appwarden.compliance.models import DeviceEvent, InstalledApp
from appwarden.db import make_engine
from appwarden.enforcement.models import DevicePolicyVersion
from appwarden.fleet.models import Device
from appwarden.protocol.v1.signing import DEVICE_HEADER
from appwarden.sim import fleet as sim_fleet
from appwarden.sim.client import Answer, Http
from appwarden.sim.drill import local_tokens
from appwarden.sim.drill_api import DrillApi
from appwarden.sim.drill_server import LocalServer, bootstrap_people, server_env
from appwarden.sim.fleet import Share
from appwarden.sim.inventory import InstalledApp as Held
from appwarden.sim.simulate import SimulationOptions, build_fleet
from tests.conftest import APPS, require

APP = "com.example.faults"
GROUP = "fault-drill"
EVIDENCE = "urzip-release.apk"
CONVERGE_S = float(os.environ.get("FAULTS_CONVERGE_S", "180"))


@dataclass
class Traffic:
    """What the agents saw: answers by status (``transport:…`` for failures) and, per
    device, the policy version it received last."""

    answers: Counter[str] = field(default_factory=Counter)
    versions: dict[str, int] = field(default_factory=dict)


class CountingHttp:
    """The agents' HTTP client, recording their :class:`Traffic`."""

    def __init__(self, inner: Http, traffic: Traffic) -> None:
        self.inner, self.traffic = inner, traffic

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Answer:
        try:
            answer = await self.inner.request(method, target, headers, body, timeout)
        except Exception as error:
            self.traffic.answers[f"transport:{type(error).__name__}"] += 1
            raise
        self.traffic.answers[str(answer.status)] += 1
        if target.startswith("/v1/policy") and answer.status == 200:
            self.traffic.versions[headers[DEVICE_HEADER]] = int(answer.json()["version"])
        return answer

    async def aclose(self) -> None:
        await self.inner.aclose()


def record_traffic(monkeypatch: pytest.MonkeyPatch) -> Traffic:
    """Record what the agents of fleets built from now on see (in this process)."""
    traffic = Traffic()
    make = sim_fleet.make_http

    def counting(base_url: str, *, local_address: str | None = None) -> Http:
        return CountingHttp(make(base_url, local_address=local_address), traffic)

    monkeypatch.setattr(sim_fleet, "make_http", counting)
    return traffic


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
    """The fleet after the fault, as the server and the agents see it."""

    devices: int
    agents_on_current_version: int
    holding_the_app: int
    removed_events: int
    devices_with_removal: int
    compliant: int  # judged by the server


def server_view(server: LocalServer, traffic: Traffic, compliant: int) -> Converged:
    engine = make_engine(server.settings.database, pool_size=1)
    try:
        with engine.connect() as connection:
            issued = select(DevicePolicyVersion.device_id, DevicePolicyVersion.version)
            current = {r.device_id: r.version for r in connection.execute(issued)}
            removed = select(DeviceEvent.device_id).where(
                DeviceEvent.kind == "removed", DeviceEvent.app_id == APP
            )
            rows = list(connection.scalars(removed))
            holding = select(func.count()).where(InstalledApp.app_id == APP)
            return Converged(
                devices=int(connection.scalar(select(func.count()).select_from(Device)) or 0),
                agents_on_current_version=sum(
                    1 for d, v in current.items() if traffic.versions.get(d) == v
                ),
                holding_the_app=int(connection.scalar(holding) or 0),
                removed_events=len(rows),
                devices_with_removal=len(set(rows)),
                compliant=compliant,
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
    determination: int = 0
    fault: str = ""

    def line(self, name: str) -> str:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(self.answers.items()))
        view = self.view
        assert view is not None
        return (
            f"[{name}] devices {self.devices}, holders {self.holders}, holders compliant when "
            f"the fault hit {self.compliant_at_fault}/{self.holders}, outage "
            f"{self.outage_s:.2f} s ({self.fault}); {self.converged_s:.2f} s after it: "
            f"agents on the current version {view.agents_on_current_version}/{self.devices}, "
            f"judged compliant {view.compliant}/{self.devices}, "
            f"removed events {view.removed_events}; answers {{{answers}}}; audit {self.audit}"
        )


#: Injects a fault and returns once the server answers again; says what it saw.
Fault = Callable[[LocalServer], Awaitable[str]]


def new_server(folder: Path, database_url: str | None) -> LocalServer:
    server = LocalServer(folder / "server", database_url=database_url)
    bootstrap_people(server.settings, folder)
    return server


async def drill_with_fault(
    server: LocalServer,
    folder: Path,
    fault: Fault,
    traffic: Traffic,
    *,
    devices: int = 60,
) -> Outcome:
    """Start ``server``, sync a fleet, approve a ban, inject ``fault`` once the first
    holder reported the removal (it leaves the server answering again), and wait until the
    whole fleet converged; then check."""
    evidence = require(APPS / EVIDENCE)
    server.start()
    tokens = local_tokens(server, folder)
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
            # Strike in the middle of the propagation: once the first holder reported.
            await fleet.wait_for(lambda s: bool(holders & s.compliant.keys()), 30)
            outcome.compliant_at_fault = len(holders & fleet.status.compliant.keys())
            down = time.monotonic()
            outcome.fault = await fault(server)
            up = time.monotonic()
            outcome.outage_s = up - down
            view = await _converge(fleet, holders, server, traffic, api, number)
            outcome.converged_s = time.monotonic() - up
            assert view is not None, f"not converged: {fleet.status.compliant.keys()}"
        finally:
            await fleet.stop()
    assert fleet.status.errors == [], fleet.status.errors[:5]
    outcome.answers = Counter(traffic.answers)
    outcome.view = view
    outcome.determination = number
    outcome.audit = audit_verify(server)
    check(outcome)
    return outcome


async def _converge(
    fleet: Any, holders: set[int], server: LocalServer, traffic: Traffic, api: DrillApi, number: int
) -> Converged | None:
    """The fleet once converged (see the module), or None after :data:`CONVERGE_S`."""
    deadline = time.monotonic() + CONVERGE_S
    if not await fleet.wait_for(lambda s: holders <= s.compliant.keys(), CONVERGE_S):
        return None
    view = None
    while time.monotonic() < deadline:
        judged = await api.compliance(number)
        compliant = int(judged["counts"]["compliant"]) if judged else 0
        view = await asyncio.to_thread(server_view, server, traffic, compliant)
        if (
            view.agents_on_current_version == view.devices
            and view.holding_the_app == 0
            and compliant == view.devices
        ):
            return view
        await asyncio.sleep(0.5)
    print(f"not converged: {view}")
    return None


def check(outcome: Outcome) -> None:
    """Every device converged; one removal recorded per holder, none lost, none doubled."""
    view = outcome.view
    assert view is not None
    assert view.devices == outcome.devices
    assert view.agents_on_current_version == outcome.devices
    assert view.compliant == outcome.devices
    assert view.holding_the_app == 0
    assert view.removed_events == outcome.holders, view
    assert view.devices_with_removal == outcome.holders, view
    assert outcome.audit.startswith("ok: "), outcome.audit
