"""How many devices a second can enroll? Server and clients together on this machine.

For each store (SQLite, PostgreSQL): start ``appwarden serve`` (as a drill does: a fresh data
folder, PostgreSQL in a database of its own), have the operator create a group and one
enrollment token, then enroll ``--devices`` devices (default 2,000) with the simulator's
device client (``DeviceClient.enroll``: a new Ed25519 key, ``POST /v1/enroll``),
``--concurrency`` at a time, spread over ``--addresses`` loopback source addresses
(127.0.0.2, 127.0.0.3, ...) as the simulator spreads its processes. It reads the server's
CPU time from /proc around the run: devices per second and server CPU-ms per enrollment.

The limit: the same client, concurrency and addresses against ``GET /healthz`` of the same
server (same ASGI stack, no database). Ratio = the limit's requests/s over our devices/s.

Then, with ``--sim``, the simulator itself: ``appwarden simulate``'s fleet (its processes,
its source addresses, its start-up concurrency) enrolling a further ``--devices`` devices,
timed from its first enrollment to its last (each device then reads its policy and
reports, as the simulator does).

    .venv/bin/python -m bench.enrollment                       # 2,000 devices, both stores
    .venv/bin/python -m bench.enrollment --devices 500 --stores sqlite --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from appwarden.clock import SystemClock
from appwarden.sim.client import DeviceClient, Http, Identity, make_http
from appwarden.sim.drill_server import LocalServer, bootstrap_people, interrupt_on_sigterm, sign_in
from appwarden.sim.simulate import SimulationOptions, build_fleet
from bench._procstat import cpu_seconds, tree
from bench.propagation import drop_database, postgres_database

API = "/api/v1"
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


@dataclass
class Row:
    store: str
    devices: int
    concurrency: int
    addresses: int
    enroll_per_s: float | None = None
    cpu_ms_per_enroll: float | None = None
    healthz_per_s: float | None = None
    cpu_ms_per_healthz: float | None = None
    ratio: float | None = None
    sim_enroll_per_s: float | None = None
    failed: int = 0
    error: str | None = None


def issue_token(url: str, folder: Path, server: LocalServer, uses: int) -> str:
    """A group and an enrollment token for ``uses`` devices, made by the drill's operator."""
    people = bootstrap_people(server.settings, folder)
    with httpx.Client(base_url=url, timeout=30) as client:
        token = sign_in(client, people["operator"])
        headers = {"Authorization": f"Bearer {token}"}
        group = client.post(f"{API}/groups", json={"name": "bench"}, headers=headers)
        group.raise_for_status()
        body = {"group_id": group.json()["id"], "max_uses": uses, "expires_in_hours": 24}
        issued = client.post(f"{API}/enrollment-tokens", json=body, headers=headers)
        issued.raise_for_status()
        return str(issued.json()["token"])


async def timed(
    count: int,
    concurrency: int,
    clients: list[Http],
    one: Callable[[Http], Awaitable[bool]],
    pids: list[int],
) -> tuple[float, float, int]:
    """Run ``one`` ``count`` times, ``concurrency`` at a time, round-robin over ``clients``:
    calls per second, server CPU-ms per call, failed calls."""
    queue = iter(range(count))
    failed = 0

    async def worker(n: int) -> None:
        nonlocal failed
        http = clients[n % len(clients)]
        for _ in queue:
            if not await one(http):
                failed += 1

    cpu0, begun = cpu_seconds(pids), time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    wall, cpu = time.perf_counter() - begun, cpu_seconds(pids) - cpu0
    return round(count / wall, 1), round(cpu * 1000 / count, 3), failed


async def direct(url: str, token: str, row: Row, pids: list[int]) -> None:
    """Enrollments, then the same number of ``/healthz`` calls, from the same clients."""
    clients = [make_http(url, local_address=f"127.0.0.{2 + n}") for n in range(row.addresses)]
    clock = SystemClock()
    attributes = {"platform": "android", "ownership": "corporate"}

    async def enroll(http: Http) -> bool:
        client = DeviceClient(http, clock)
        try:
            await client.enroll(token, attributes, Identity.generate_key())
        except Exception as error:  # noqa: BLE001 - counted and shown, not fatal
            row.error = row.error or f"{type(error).__name__}: {error}"[:200]
            return False
        return True

    async def healthz(http: Http) -> bool:
        answer = await http.request("GET", "/healthz", {}, b"", 30)
        return answer.status == 200

    try:
        await timed(min(50, row.devices), row.concurrency, clients, healthz, pids)  # warm up
        row.enroll_per_s, row.cpu_ms_per_enroll, row.failed = await timed(
            row.devices, row.concurrency, clients, enroll, pids
        )
        row.healthz_per_s, row.cpu_ms_per_healthz, _ = await timed(
            row.devices, row.concurrency, clients, healthz, pids
        )
        if row.enroll_per_s:
            row.ratio = round(row.healthz_per_s / row.enroll_per_s, 2)
    finally:
        for http in clients:
            await http.aclose()


async def simulated(url: str, token: str, devices: int, processes: int) -> float | None:
    """Devices per second that ``appwarden simulate``'s fleet enrolls, from its first
    enrollment to its last (the start-up of its processes left out)."""
    options = SimulationOptions(
        server=url, devices=devices, token=token, processes=processes, wait=30
    )
    fleet = build_fleet(options)
    times: list[float] = []

    def on_event(kind: str, _index: int, _value: Any) -> None:
        if kind == "enrolled":
            times.append(time.perf_counter())

    fleet.on_event = on_event
    await fleet.start()
    try:
        done = await fleet.wait_for(lambda s: len(s.enrolled) >= devices, 60 + devices / 5)
    finally:
        await fleet.stop()
    if not done or len(times) < 2 or times[-1] <= times[0]:
        return None
    return round((len(times) - 1) / (times[-1] - times[0]), 1)


async def measure(store: str, args: argparse.Namespace) -> Row:
    row = Row(store, args.devices, args.concurrency, args.addresses)
    name = f"appwarden_bench_enroll_{id(row)}"
    with tempfile.TemporaryDirectory(prefix="aw-enroll-") as scratch:
        folder = Path(scratch)
        url = postgres_database(name) if store == "postgresql" else None
        server = LocalServer(folder / "server", database_url=url, workers=args.workers)
        try:
            bootstrap_people(server.settings, folder)
            server.start()
            uses = args.devices * (2 if args.sim else 1)
            token = issue_token(server.url, folder, server, uses)
            pids = tree(server.process.pid if server.process else 0)
            await direct(server.url, token, row, pids)
            if args.sim:
                row.sim_enroll_per_s = await simulated(
                    server.url, token, args.devices, args.sim_processes
                )
        except Exception as error:  # noqa: BLE001 - one failed run is a row, not the end
            row.error = f"{type(error).__name__}: {error}"[:300]
        finally:
            server.stop()
            if store == "postgresql":
                drop_database(name)
    return row


def report(rows: list[Row]) -> Table:
    table = Table(title="Enrollment: server and clients on one machine")
    names = [n for n in Row.__dataclass_fields__ if n != "error"]
    for name in names:
        table.add_column(name.replace("_", " "), justify="left" if name == "store" else "right")
    for row in rows:
        values: dict[str, Any] = asdict(row)
        table.add_row(*("-" if values[n] is None else str(values[n]) for n in names))
    return table


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--concurrency", type=int, default=64, help="Requests in flight.")
    parser.add_argument("--addresses", type=int, default=4, help="Loopback source addresses.")
    parser.add_argument("--workers", type=int, default=1, help="Server worker processes.")
    parser.add_argument("--sim", action="store_true", help="Also time the simulator's fleet.")
    parser.add_argument("--sim-processes", type=int, default=2)
    parser.add_argument("--json", type=Path, help="Write the rows here.")
    args = parser.parse_args()
    rows: list[Row] = []
    for store in [s for s in args.stores.split(",") if s]:
        console.print(f"{store}, {args.devices} devices ...")
        rows.append(await measure(store, args))
    console.print(report(rows))
    for row in rows:
        if row.error:
            console.print(f"[red]{row.store}: {row.error}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")


if __name__ == "__main__":
    interrupt_on_sigterm()
    asyncio.run(main())
