"""How fast does a ban reach the fleet? Server and simulator together on this machine.

For each store (SQLite, PostgreSQL) and fleet size (1k and 10k by default; ``--huge`` adds
100k with several server workers): start ``appwarden serve``, enroll the simulated fleet,
approve a ban of an app every device holds, and time the agents' accepted reports without
it (t50/t90/t99/t100 after the approval was sent). Around the ban it reads the server's
CPU time and memory from /proc: CPU-milliseconds per device for the whole propagation, and
RSS with every long-poll parked. Then it times 304 check-ins (signed ``GET /v1/policy``
with the current ETag) per second per server core.

In the same run, the limit (``bench/_limit_server.py``): the same simulator against a server
on the same ASGI stack and worker count that answers the same long-polls and reports with
no signatures and no database. Ratio = our t99 / the limit's t99 (goal at most 3).

    .venv/bin/python -m bench.propagation                       # 1k and 10k, both stores
    .venv/bin/python -m bench.propagation --sizes 1000 --stores sqlite --json out.json
    .venv/bin/python -m bench.propagation --huge                # adds 100k (long)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from appwarden.clock import SystemClock
from appwarden.sim.client import DeviceClient, Identity, make_http
from appwarden.sim.drill import DrillOptions, run_drill
from appwarden.sim.drill_report import time_to
from appwarden.sim.drill_server import (
    LocalServer,
    bootstrap_people,
    free_port,
    interrupt_on_sigterm,
)
from appwarden.sim.fleet import Share
from appwarden.sim.inventory import InstalledApp
from appwarden.sim.processes import die_with_parent
from appwarden.sim.simulate import SimulationOptions, build_fleet
from appwarden.sim.store import FleetStore
from bench._procstat import cpu_seconds, open_files, rss_bytes, tree, worker_pids

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT.parent / "shared" / "fixtures" / "apps" / "hello-world.apk"
POSTGRES = os.environ.get(
    "APPWARDEN_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432"
)
APP = "com.example.propagation"
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


@dataclass
class Row:
    server: str  # "appwarden" or "limit"
    store: str
    devices: int
    workers: int
    t50_s: float | None = None
    t90_s: float | None = None
    t99_s: float | None = None
    t100_s: float | None = None
    cpu_ms_per_device: float | None = None
    rss_parked_mb: float | None = None
    checkins_per_core_s: float | None = None
    start_s: float | None = None
    compliant: int | None = None  # devices without the app when the run ended or timed out
    agent_errors: int | None = None  # simulated devices that stopped on an error
    # Open files of each server worker, largest first: with the long-polls parked before
    # the ban, and when the run ended. How evenly the kernel spread the connections.
    files_parked: list[int] | None = None
    files_done: list[int] | None = None
    error: str | None = None


class Sampler:
    """Server CPU seconds and RSS at the drill's phases."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.marks: dict[str, tuple[float, int]] = {}
        self.files: dict[str, list[int]] = {}

    def __call__(self, phase: str) -> None:
        pids = tree(self.pid)
        self.marks[phase] = (cpu_seconds(pids), rss_bytes(pids))
        self.files[phase] = open_files(worker_pids(self.pid))


def workers_for(devices: int) -> int:
    """Parked long-polls per server process stay under its connection limit (20,000 open
    files less 3,048). Each worker has its own listening socket (appwarden.serving), so
    the kernel spreads connections evenly; with one shared socket, six workers at
    100,000 devices held 5,165 to 18,783."""
    return max(1, -(-devices // 15_000))


def processes_for(devices: int) -> int:
    """At most 5,000 agents per simulator process. They share its connection pool and
    each has at most one request in flight, so it holds at most 5,000 connections, well
    within one loopback address's ports (about 28,000)."""
    return max(1, -(-devices // 5_000))


async def checkins(url: str, state_dir: Path, seconds: float, pids: list[int]) -> float | None:
    """Signed 304 check-ins per server CPU-second, from the fleet's saved identities."""
    identities = [Identity.from_document(raw) for raw in FleetStore(state_dir).load(url).values()]
    if not identities:
        return None
    identities = identities[:2000]
    http = make_http(url)
    client = DeviceClient(http, SystemClock())
    etags: dict[str, str] = {}
    answered = 0

    async def one(identity: Identity, until: float) -> None:
        nonlocal answered
        while time.monotonic() < until:
            got = await client.policy(identity, etags.get(identity.device_id), 0)
            if got.body is None:
                answered += 1
            elif got.etag:
                etags[identity.device_id] = got.etag

    try:
        await asyncio.gather(*(one(i, time.monotonic() + 2) for i in identities[:64]))
        answered = 0
        before = cpu_seconds(pids)
        until = time.monotonic() + seconds
        await asyncio.gather(*(one(identities[n % len(identities)], until) for n in range(64)))
        used = cpu_seconds(pids) - before
    finally:
        await http.aclose()
    return round(answered / used, 1) if used > 0 else None


def postgres_database(name: str) -> str:
    admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{POSTGRES}/{name}"


def drop_database(name: str) -> None:
    admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


async def ours(store: str, devices: int, args: argparse.Namespace) -> Row:
    workers = args.workers or workers_for(devices)
    row = Row("appwarden", store, devices, workers)
    name = f"appwarden_bench_{os.getpid()}_{devices}"
    with tempfile.TemporaryDirectory(prefix="aw-bench-") as scratch:
        folder = Path(scratch)
        url = postgres_database(name) if store == "postgresql" else None
        server = LocalServer(folder / "server", database_url=url, workers=workers)
        try:
            bootstrap_people(server.settings, folder)
            server.start()
            sampler = Sampler(server.process.pid if server.process else 0)
            options = DrillOptions(
                devices=devices,
                app=APP,
                state_dir=folder,
                evidence=args.evidence,
                processes=processes_for(devices),
                timeout=args.timeout,
                start_timeout=args.start_timeout,
                jitter=args.jitter,
                wait=args.wait,
            )
            result = await run_drill(options, Console(quiet=True), server=server, on_phase=sampler)
            row.t50_s, row.t90_s = result.t50_s, result.t90_s
            row.t99_s, row.t100_s = result.t99_s, result.t100_s
            row.compliant = result.compliant
            row.agent_errors = result.errors
            row.start_s = result.start_s
            (cpu0, rss), (cpu1, _) = sampler.marks["synced"], sampler.marks["done"]
            row.cpu_ms_per_device = round((cpu1 - cpu0) * 1000 / devices, 3)
            row.rss_parked_mb = round(rss / 2**20, 1)
            row.files_parked = sampler.files.get("synced")
            row.files_done = sampler.files.get("done")
            row.checkins_per_core_s = await checkins(
                server.url, folder / "fleet", args.checkin_seconds, tree(sampler.pid)
            )
        except Exception as error:  # noqa: BLE001 - one failed run is a row, not the end
            row.error = f"{type(error).__name__}: {error}"[:300]
        finally:
            server.stop()
            if store == "postgresql":
                drop_database(name)
            if args.logs is not None and server.log.exists():  # the scratch folder goes
                args.logs.mkdir(parents=True, exist_ok=True)
                shutil.copy(server.log, args.logs / f"appwarden-{store}-{devices}.log")
    return row


async def limit(devices: int, workers: int, args: argparse.Namespace) -> Row:
    row = Row("limit", "memory", devices, workers)
    with tempfile.TemporaryDirectory(prefix="aw-limit-") as scratch:
        trigger = Path(scratch) / "ban"
        port = free_port()
        command = [sys.executable, "-m", "bench._limit_server", "--port", str(port),
                   "--workers", str(workers), "--trigger", str(trigger)]  # fmt: skip
        process = subprocess.Popen(command, cwd=ROOT, preexec_fn=die_with_parent)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    httpx.get(f"{url}/v1/policy", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            sim = SimulationOptions(
                server=url,
                devices=devices,
                token="limit",  # noqa: S106 - the limit server takes any token
                install_base=(Share(InstalledApp(APP), 1.0),),
                jitter=args.jitter,
                processes=processes_for(devices),
                watch_app=APP,
                wait=args.wait,
            )
            fleet = build_fleet(sim)
            begun = time.monotonic()
            await fleet.start()
            try:
                start_timeout = args.start_timeout or 120 + devices / 20
                await fleet.wait_for(lambda s: s.settled() >= devices, start_timeout)
                row.start_s = round(time.monotonic() - begun, 2)
                pids = tree(process.pid)
                cpu0, rss = cpu_seconds(pids), rss_bytes(pids)
                row.files_parked = open_files(worker_pids(process.pid))
                approved = time.time()
                trigger.write_text(APP)
                await fleet.wait_for(lambda s: len(s.compliant) >= devices, args.timeout)
                row.cpu_ms_per_device = round((cpu_seconds(pids) - cpu0) * 1000 / devices, 3)
                row.rss_parked_mb = round(rss / 2**20, 1)
            finally:
                row.files_done = open_files(worker_pids(process.pid))
                await fleet.stop()
            times = [t - approved for t in fleet.status.compliant.values()]
            row.t50_s = time_to(times, devices, 50)
            row.t90_s = time_to(times, devices, 90)
            row.compliant = len(times)
            row.t99_s = time_to(times, devices, 99)
            row.t100_s = time_to(times, devices, 100)
        except Exception as error:  # noqa: BLE001
            row.error = f"{type(error).__name__}: {error}"[:300]
        finally:
            process.terminate()
            process.wait(timeout=20)
    return row


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def report(rows: list[Row]) -> Table:
    table = Table(title="Ban propagation: server and simulator on one machine")
    names = [
        *("server", "store", "devices", "workers", "t50_s", "t90_s", "t99_s", "t100_s"),
        *("compliant", "cpu_ms_per_device", "rss_parked_mb", "checkins_per_core_s", "ratio"),
    ]
    for name in names:
        table.add_column(name.replace("_", " "), justify="left" if name == "server" else "right")
    limits = {(r.devices, r.workers): r for r in rows if r.server == "limit"}
    for row in rows:
        base = limits.get((row.devices, row.workers))
        ratio = None
        if row.server == "appwarden" and base and row.t99_s and base.t99_s:
            ratio = round(row.t99_s / base.t99_s, 2)
        values = {**asdict(row), "ratio": ratio}
        table.add_row(*(_cell(values[n]) for n in names))
    return table


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000", help="Fleet sizes, comma-separated.")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--huge", action="store_true", help="Add 100k devices.")
    parser.add_argument("--workers", type=int, default=0, help="Server workers (default by size).")
    parser.add_argument("--timeout", type=float, default=60.0, help="Seconds after the ban.")
    parser.add_argument("--start-timeout", type=float, default=None)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument(
        "--wait", type=int, default=60, help="Each device's long-poll in seconds (0-300)."
    )
    parser.add_argument("--checkin-seconds", type=float, default=5.0)
    parser.add_argument("--evidence", type=Path, default=EVIDENCE)
    parser.add_argument("--no-limit", action="store_true", help="Skip the limit server.")
    parser.add_argument("--json", type=Path, help="Write the rows here.")
    parser.add_argument("--logs", type=Path, help="Keep each run's server log in this folder.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.huge:
        sizes.append(100_000)
    rows: list[Row] = []

    def finished(row: Row) -> None:
        """Print each row as it ends and rewrite the JSON: a long run stopped early keeps
        what it measured."""
        rows.append(row)
        console.print(json.dumps(asdict(row)))
        if args.json:
            args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")

    for devices in sizes:
        for store in [s for s in args.stores.split(",") if s]:
            console.print(f"appwarden, {store}, {devices} devices ...")
            finished(await ours(store, devices, args))
        if not args.no_limit:
            console.print(f"limit, {devices} devices ...")
            finished(await limit(devices, args.workers or workers_for(devices), args))
    console.print(report(rows))
    for row in rows:
        if row.error:
            console.print(f"[red]{row.server} {row.store} {row.devices}: {row.error}")


if __name__ == "__main__":
    interrupt_on_sigterm()
    asyncio.run(main())
