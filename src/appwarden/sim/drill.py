"""``appwarden drill``: how fast does an approved ban reach the fleet?

Starts a server unless given one, enrolls a simulated fleet (or reuses the one saved in the
state folder), installs the app on a share of it, has the analyst propose a ban and the
approver approve it as an interim measure, and times, on the simulator's side, each online
device that held the app until the server accepted its report without it.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from appwarden.sim.drill_api import DrillApi, DrillError, Tokens
from appwarden.sim.drill_report import DrillResult
from appwarden.sim.drill_server import LocalServer, bootstrap_people, sign_in
from appwarden.sim.fleet import Share
from appwarden.sim.inventory import InstalledApp
from appwarden.sim.processes import FleetStatus
from appwarden.sim.simulate import SimulationOptions, build_fleet, save_identities

GROUP = "propagation-drill"


@dataclass
class DrillOptions:
    devices: int
    app: str
    server: str | None = None
    tokens: Tokens | None = None  # needed with ``server``
    database_url: str | None = None
    workers: int = 1
    state_dir: Path | None = None
    share: float = 1.0
    offline_share: float = 0.0
    jitter: float = 0.0
    processes: int = 0
    timeout: float = 120.0  # seconds after approval before the stragglers are counted
    start_timeout: float | None = None  # enrollment and first sync (default: by fleet size)
    evidence: Path | None = None
    wait: int = 60


@contextlib.contextmanager
def _folder(state_dir: Path | None) -> Iterator[Path]:
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        yield state_dir
        return
    with tempfile.TemporaryDirectory(prefix="appwarden-drill-") as scratch:
        yield Path(scratch)


def _store(database_url: str | None) -> str:
    if not database_url:
        return "sqlite"
    return database_url.split(":", 1)[0].split("+", 1)[0]


def local_tokens(server: LocalServer, folder: Path) -> Tokens:
    """Bootstrap the drill's three people on ``server``'s store and sign each in."""
    people = bootstrap_people(server.settings, folder)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return Tokens(
            operator=sign_in(client, people["operator"]),
            analyst=sign_in(client, people["analyst"]),
            approver=sign_in(client, people["approver"]),
        )


async def _rescind_previous(api: DrillApi, folder: Path) -> None:
    """A drill run again on the same state folder first lifts the previous drill's ban."""
    saved = folder / "drill.json"
    if saved.exists():
        previous = json.loads(saved.read_text()).get("determination")
        if previous:
            await api.rescind(int(previous))


async def run_drill(
    options: DrillOptions,
    console: Console,
    *,
    server: LocalServer | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> DrillResult:
    """Run one drill (starting and stopping a server unless ``options.server`` or a
    started ``server`` is given). ``on_phase`` hears ``"synced"`` (the fleet is up, long-polls
    parked, just before the ban) and ``"done"`` (compliance reached or timed out)."""
    with _folder(options.state_dir) as folder:
        own = server is None and options.server is None
        if own:
            server = LocalServer(
                folder / "server", database_url=options.database_url, workers=options.workers
            )
        try:
            if own and server is not None:
                bootstrap_people(server.settings, folder)
                console.print(f"starting a server at {server.url} ({_store(options.database_url)})")
                server.start()
            if server is not None:
                url, tokens = server.url, options.tokens or local_tokens(server, folder)
            elif options.server is not None and options.tokens is not None:
                url, tokens = options.server, options.tokens
            else:
                raise DrillError("a drill against --server needs the three tokens")
            return await _drill(options, console, url, tokens, folder, on_phase or _nothing)
        finally:
            if own and server is not None:
                server.stop()


def _nothing(_phase: str) -> None:
    pass


async def _drill(
    options: DrillOptions,
    console: Console,
    url: str,
    tokens: Tokens,
    folder: Path,
    on_phase: Callable[[str], None],
) -> DrillResult:
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        api = DrillApi(http, tokens)
        await _rescind_previous(api, folder)
        group_id = await api.group(GROUP)
        evidence = await api.evidence(options.app, options.evidence)
        sim = SimulationOptions(
            server=url,
            devices=options.devices,
            token=await api.enrollment_token(group_id, _uses(options.devices)),
            install_base=(Share(InstalledApp(options.app), options.share),),
            jitter=options.jitter,
            offline_share=options.offline_share,
            processes=options.processes,
            state_dir=folder / "fleet",
            wait=options.wait,
            watch_app=options.app,
        )
        fleet = build_fleet(sim)
        specs = [s for shard in fleet.shards for s in shard.specs]
        online = [s.index for s in specs if not s.offline]
        holders = {s.index for s in specs if not s.offline and s.apps}
        begun = time.monotonic()
        await fleet.start()
        try:
            console.print(f"enrolling and syncing {options.devices} devices ...")
            start_timeout = options.start_timeout or (120.0 + options.devices / 20)
            await fleet.wait_for(lambda s: s.settled() >= options.devices, start_timeout)
            save_identities(fleet, sim)
            if len(fleet.status.synced) < options.devices:
                raise DrillError(_stuck(fleet.status, options.devices))
            enrolled = time.monotonic() - begun
            number = await api.propose_ban(options.app, GROUP, evidence)
            on_phase("synced")
            console.print(f"approving ban #{number} of {options.app} ...")
            approved_at = time.time()
            await api.approve_interim(number)
            (folder / "drill.json").write_text(json.dumps({"determination": number}))
            await fleet.wait_for(lambda s: holders <= s.compliant.keys(), options.timeout)
            on_phase("done")
            server_view = await api.compliance(number)
        finally:
            await fleet.stop()
        times = [t - approved_at for i, t in fleet.status.compliant.items() if i in holders]
        return DrillResult.measure(
            times,
            online=len(online),
            affected=len(holders),
            devices=options.devices,
            app=options.app,
            server=url,
            store=_store(options.database_url) if options.server is None else "external",
            workers=options.workers,
            processes=len(fleet.shards) if not fleet.in_process else 0,
            determination=number,
            start_s=round(enrolled, 2),
            errors=len(fleet.status.errors),
            server_compliance=server_view,
        )


def _uses(devices: int) -> int:
    """Enrollments the token allows: the fleet, and room for retries whose answer was lost
    after the server had counted them (each retry is a new key, so a new device)."""
    return devices + max(10, devices // 10)


def _stuck(status: FleetStatus, devices: int) -> str:
    errors = "; ".join(status.errors[:3])
    return f"only {len(status.synced)} of {devices} devices enrolled and reported" + (
        f" ({errors})" if errors else ""
    )
