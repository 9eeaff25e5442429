"""``appwarden simulate``: a planned fleet, its saved identities, its processes, progress."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from appwarden.sim.fleet import ShardConfig, Share, plan_fleet
from appwarden.sim.processes import Fleet, FleetStatus, split
from appwarden.sim.store import FleetStore


@dataclass
class SimulationOptions:
    server: str
    devices: int
    token: str | None = None
    install_base: tuple[Share, ...] = ()
    jitter: float = 0.0
    offline_share: float = 0.0
    processes: int = 0  # 0: every agent in the calling process's event loop
    state_dir: Path | None = None
    wait: int = 60
    watch_app: str | None = None
    seed: int = 1
    source_addresses: bool = True


def build_fleet(options: SimulationOptions) -> Fleet:
    """The fleet of ``options``, reusing identities saved in ``state_dir`` for this server."""
    identities = FleetStore(options.state_dir).prepare(options.server) if options.state_dir else {}
    specs = plan_fleet(
        options.devices,
        options.install_base,
        jitter=options.jitter,
        offline_share=options.offline_share,
        seed=options.seed,
    )
    template = ShardConfig(
        server=options.server.rstrip("/"),
        specs=specs,
        token=options.token,
        identities=identities,
        wait=options.wait,
        watch_app=options.watch_app,
        seed=options.seed,
    )
    shards = split(
        specs, template, processes=options.processes, source_addresses=options.source_addresses
    )
    return Fleet(shards, in_process=options.processes == 0)


def save_identities(fleet: Fleet, options: SimulationOptions) -> None:
    if options.state_dir is not None:
        FleetStore(options.state_dir).add(fleet.status.enrolled)


def started(status: FleetStatus, online: int) -> bool:
    return len(status.synced) >= online


def _table_line(status: FleetStatus) -> str:
    return (
        f"enrolled {len(status.enrolled)}  synced {len(status.synced)}  "
        f"compliant {len(status.compliant)}  errors {len(status.errors)}"
    )


async def run_simulation(
    options: SimulationOptions, *, duration: float | None, console: Console
) -> FleetStatus:
    """Run the fleet for ``duration`` seconds (None: until interrupted), with progress."""
    fleet = build_fleet(options)
    await fleet.start()
    begun = time.monotonic()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[line]}"),
    )
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("synced", total=options.devices, line="")
            while fleet.alive():
                status = fleet.status
                progress.update(task, completed=len(status.synced), line=_table_line(status))
                if duration is not None and time.monotonic() - begun >= duration:
                    break
                with contextlib.suppress(TimeoutError):
                    await fleet.wait_for(lambda s: False, 0.5)
            progress.update(task, completed=len(fleet.status.synced), line=_table_line(status))
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await fleet.stop()
        save_identities(fleet, options)
    for error in fleet.status.errors[:10]:
        console.print(f"[red]{error}")
    return fleet.status
