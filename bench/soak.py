"""A load soak: a simulated fleet against one server for a long time, with policy changes.

Starts ``appwarden serve`` (SQLite, or PostgreSQL with ``--database-url``), enrolls the
fleet (every device holds the soak's apps), then, every ``--period`` seconds, makes one
change in turn: a ban of the next app, a waiver of it for a few devices (requested by the
analyst, approved by the approver), and the ban's rescission. After each change it waits
until the server has issued the change and the fleet has converged: every device has
reported applying the policy version the server issued it last (a simulated agent applies
a ban by removing the app first; the waived devices keep it). It reports:

- the server's resident memory (RSS, its whole process tree) when the fleet has synced,
  15 s later (the start), before and after each change, and at the end;
- error responses: the server's own count of answers by status (its ``/metrics``), 5xx
  and unexpected 4xx;
- each change's time to converge (or that it did not within ``--converge-timeout``).

    .venv/bin/python -m bench.soak --devices 500 --minutes 2             # small, to try
    .venv/bin/python -m bench.soak --devices 20000 --minutes 30 --processes 4 --workers 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from sqlalchemy import func, select

from appwarden.compliance.models import DeviceState
from appwarden.db import make_engine
from appwarden.enforcement.models import DevicePolicyVersion
from appwarden.sim.drill_api import DrillApi, Tokens
from appwarden.sim.drill_server import LocalServer, bootstrap_people, sign_in
from appwarden.sim.fleet import Share
from appwarden.sim.inventory import InstalledApp
from appwarden.sim.simulate import SimulationOptions, build_fleet
from bench import _census as census
from bench._procstat import rss_bytes, tree

GROUP = "soak"
APPS = ("com.example.soak.one", "com.example.soak.two", "com.example.soak.three")
API = "/api/v1"
#: Seconds between the fleet's sync and the start's memory reading: the enrollment burst
#: is over and each server process has returned what it freed (appwarden.memory).
SETTLE_S = 15.0


@dataclass
class Change:
    kind: str  # ban, waiver, rescind
    app: str
    at_s: float
    converged_s: float | None
    rss_mib: float  # when it converged (or timed out)
    rss_before_mib: float  # just before it was made: the previous change's burst long over


@dataclass
class SoakResult:
    devices: int
    minutes: float
    store: str
    rss_synced_mib: float = 0.0  # the moment the fleet had synced
    rss_start_mib: float = 0.0  # SETTLE_S later, before the first change
    rss_end_mib: float = 0.0
    censuses: list[dict[str, Any]] = field(default_factory=list)  # with --census
    answers: dict[str, int] = field(default_factory=dict)
    errors_5xx: int = 0
    changes: list[Change] = field(default_factory=list)
    fleet_errors: list[str] = field(default_factory=list)


def _mib(server: LocalServer) -> float:
    assert server.process is not None
    return round(rss_bytes(tree(server.process.pid)) / 2**20, 1)


def _applied(database: str) -> tuple[int, int, int]:
    """(devices whose last report applied their current version, devices, the sum of the
    versions issued: it grows when the server has compiled a change)."""
    engine = make_engine(database, pool_size=1, readonly=True)  # a snapshot: no write lock
    try:
        with engine.connect() as connection:
            current = (
                select(func.count())
                .select_from(DeviceState)
                .join(DevicePolicyVersion, DevicePolicyVersion.device_id == DeviceState.device_id)
                .where(DeviceState.applied_version == DevicePolicyVersion.version)
            )
            total = select(func.count(), func.sum(DevicePolicyVersion.version))
            devices, issued = connection.execute(total).one()
            return int(connection.scalar(current) or 0), int(devices or 0), int(issued or 0)
    finally:
        engine.dispose()


def _answers(server: LocalServer, token: str) -> dict[str, int]:
    """The server's answers by status so far, from its Prometheus metrics."""
    text = httpx.get(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).text
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("appwarden_http_requests_total{"):
            status = line.split('status="', 1)[1].split('"', 1)[0]
            counts[status] = counts.get(status, 0) + int(float(line.rsplit(" ", 1)[1]))
    return counts


async def _converged(database: str, issued_before: int, timeout: float) -> float | None:
    """Seconds until every device applied its current version, counted once the server
    has issued the change (before that, the fleet is on the old versions and "converged")."""
    begun = time.monotonic()
    while time.monotonic() - begun < timeout:
        applied, total, issued = await asyncio.to_thread(_applied, database)
        if total and applied == total and issued > issued_before:
            return round(time.monotonic() - begun, 2)
        await asyncio.sleep(0.5)
    return None


async def _waiver(api: DrillApi, number: int, devices: list[str]) -> None:
    body = {
        "devices": devices,
        "reason": "security_research",
        "justification": "Soak: a waiver in the middle of the load.",
        "mitigations": ["Kept in a lab network."],
        "expires_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
    }
    headers = {"Authorization": f"Bearer {api.tokens.analyst}"}
    made = await api.http.post(f"{API}/determinations/{number}/waivers", json=body, headers=headers)
    made.raise_for_status()
    headers = {"Authorization": f"Bearer {api.tokens.approver}"}
    path = f"{API}/waivers/{made.json()['id']}/approve"
    (await api.http.post(path, json={}, headers=headers)).raise_for_status()


async def soak(args: argparse.Namespace, console: Console) -> SoakResult:
    folder = Path(tempfile.mkdtemp(prefix="appwarden-soak-"))
    metrics_token = secrets.token_urlsafe(24)
    os.environ["APPWARDEN_METRICS_TOKEN"] = metrics_token  # the server's /metrics
    if args.census is not None:
        os.environ["APPWARDEN_HEAP_CENSUS_DIR"] = str(args.census)
    server = LocalServer(folder / "server", database_url=args.database_url, workers=args.workers)
    people = bootstrap_people(server.settings, folder)
    server.start()
    store = "postgresql" if args.database_url else "sqlite"
    result = SoakResult(devices=args.devices, minutes=args.minutes, store=store)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            tokens = Tokens(
                operator=sign_in(client, people["operator"]),
                analyst=sign_in(client, people["analyst"]),
                approver=sign_in(client, people["approver"]),
            )
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
            api = DrillApi(http, tokens)
            group_id = await api.group(GROUP)
            evidence = await api.evidence(APPS[0], args.evidence)
            options = SimulationOptions(
                server=server.url,
                devices=args.devices,
                token=await api.enrollment_token(group_id, args.devices + 100),
                install_base=tuple(Share(InstalledApp(app), 1.0) for app in APPS),
                processes=args.processes,
                state_dir=folder / "fleet",
                wait=args.wait,
            )
            fleet = build_fleet(options)
            await fleet.start()
            try:
                synced = await fleet.wait_for(
                    lambda s: len(s.synced) >= args.devices, 120 + args.devices / 20
                )
                if not synced:
                    raise SystemExit(f"only {len(fleet.status.synced)} devices synced")
                result.rss_synced_mib = _mib(server)
                await asyncio.sleep(SETTLE_S)
                result.rss_start_mib = _mib(server)
                console.print(
                    f"{args.devices} devices synced; RSS {result.rss_synced_mib} MiB, "
                    f"{SETTLE_S:.0f} s later {result.rss_start_mib} MiB"
                )
                await _census(args, server, "start", result, console)
                await _changes(args, api, server, fleet, evidence, result, console)
            finally:
                await fleet.stop()
            result.fleet_errors = fleet.status.errors[:20]
        result.rss_end_mib = _mib(server)
        result.answers = _answers(server, metrics_token)
        result.errors_5xx = sum(n for s, n in result.answers.items() if s.startswith("5"))
    finally:
        server.stop()
    return result


async def _changes(
    args: argparse.Namespace,
    api: DrillApi,
    server: LocalServer,
    fleet: Any,
    evidence: int,
    result: SoakResult,
    console: Console,
) -> None:
    database = server.settings.database
    begun = time.monotonic()
    step = 0
    number = 0
    while time.monotonic() - begun < args.minutes * 60:
        app = APPS[(step // 3) % len(APPS)]
        kind = ("ban", "waiver", "rescind")[step % 3]
        issued_before = (await asyncio.to_thread(_applied, database))[2]
        before = _mib(server)
        if kind == "ban":
            number = await api.propose_ban(app, GROUP, evidence)
            await api.approve_interim(number)
        elif kind == "waiver":
            waived = [fleet.status.enrolled[i]["device_id"] for i in range(3)]
            await _waiver(api, number, waived)
        else:
            await api.rescind(number)
        at = round(time.monotonic() - begun, 1)
        converged = await _converged(database, issued_before, args.converge_timeout)
        change = Change(kind, app, at, converged, _mib(server), before)
        result.changes.append(change)
        console.print(
            f"{at:7.1f} s  {kind:8} {app}: converged in {converged} s, "
            f"RSS {before} -> {change.rss_mib} MiB"
        )
        step += 1
        await asyncio.sleep(max(0.0, args.period - (converged or args.converge_timeout)))
        await _census(args, server, f"after {kind} {step}", result, console)


async def _census(
    args: argparse.Namespace, server: LocalServer, label: str, result: SoakResult, console: Console
) -> None:
    """With --census: each worker's live objects by type, and what changed since the first
    census (the fleet synced, before any change)."""
    if args.census is None:
        return
    taken = await asyncio.to_thread(census.take, server.worker_pids(), args.census)
    entry: dict[str, Any] = {"label": label, "workers": {}}
    first = result.censuses[0]["full"] if result.censuses else None
    for pid, found in taken.items():
        shown: dict[str, Any] = census.summary(found)
        if first is not None and pid in first:
            shown["changed_since_start"] = census.diff(first[pid], found)
        entry["workers"][pid] = shown
    result.censuses.append({**entry, "full": taken} if first is None else entry)
    for pid, shown in entry["workers"].items():
        console.print(f"census {label}, worker {pid}: {json.dumps(shown)[:2000]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--period", type=float, default=20.0, help="seconds between changes")
    parser.add_argument("--converge-timeout", type=float, default=120.0)
    parser.add_argument(
        "--wait", type=int, default=60, help="each device's long-poll in seconds (0-300)"
    )
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--processes", type=int, default=0, help="simulator processes")
    parser.add_argument("--evidence", type=Path, required=True, help="an APK to cite")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--census",
        type=Path,
        default=None,
        help="folder for heap censuses of each worker: at the start and after each change",
    )
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 160)
    result = asyncio.run(soak(args, console))
    document = asdict(result)
    console.print_json(json.dumps(document))
    if args.json is not None:
        args.json.write_text(json.dumps(document, indent=2))
    unconverged = [c for c in result.changes if c.converged_s is None]
    return 1 if result.errors_5xx or unconverged or result.fleet_errors else 0


if __name__ == "__main__":
    sys.exit(main())
