"""``appwarden agent``, ``appwarden simulate`` and ``appwarden drill`` (docs/agent.md)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)

ServerOption = Annotated[str, typer.Option("--server", help="The server's base URL.")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"appwarden: error: {message}", err=True)
    return typer.Exit(1)


def agent(
    server: ServerOption,
    state: Annotated[
        Path, typer.Option(help="The agent's state file: identity, cached policy, apps.")
    ],
    token: Annotated[
        str | None,
        typer.Option(envvar="APPWARDEN_ENROLL_TOKEN", help="Enrollment token (first run)."),
    ] = None,
    app: Annotated[
        list[str] | None,
        typer.Option("--app", help="An installed app, APP_ID[:SIGNER_SHA256] (first run)."),
    ] = None,
    platform: Annotated[str, typer.Option(help="android or ios.")] = "android",
    ownership: Annotated[str, typer.Option(help="corporate, byod or contractor.")] = "corporate",
    supervised: Annotated[bool, typer.Option(help="iOS: supervised.")] = False,
    wait: Annotated[int, typer.Option(help="Long-poll seconds (0-300).")] = 60,
    once: Annotated[bool, typer.Option(help="Sync once and exit.")] = False,
) -> None:
    """Run the reference agent: enroll (or load STATE), long-poll the policy, enforce it
    on the simulated package manager and report state."""
    from appwarden.sim.runner import run_agent

    try:
        asyncio.run(
            run_agent(
                server=server,
                state=state,
                token=token,
                apps=app or [],
                attributes={"platform": platform, "ownership": ownership, "supervised": supervised},
                wait=wait,
                once=once,
                console=console,
            )
        )
    except (ValueError, RuntimeError) as error:
        raise _fail(str(error)) from None
    except KeyboardInterrupt:
        pass


def simulate(
    server: ServerOption,
    devices: Annotated[int, typer.Option(min=1, help="How many devices.")],
    token: Annotated[
        str | None,
        typer.Option(envvar="APPWARDEN_ENROLL_TOKEN", help="Enrollment token (max_uses >= N)."),
    ] = None,
    install_base: Annotated[
        str, typer.Option(help="APP[:SIGNER][=SHARE],... apps and the share holding each.")
    ] = "",
    jitter: Annotated[float, typer.Option(min=0, help="Start spread, seconds.")] = 0.0,
    offline_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of devices that go offline after enrolling.")
    ] = 0.0,
    processes: Annotated[
        int, typer.Option(min=0, help="Simulator processes (0: this one; more if N needs it).")
    ] = 0,
    state_dir: Annotated[
        Path | None, typer.Option(help="Keeps the enrolled identities for the next run.")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    wait: Annotated[int, typer.Option(help="Long-poll seconds (0-300).")] = 60,
    seed: Annotated[int, typer.Option(help="Seed of the install base and jitter.")] = 1,
) -> None:
    """Run N agents against a server, over processes and loopback source addresses."""
    from appwarden.sim.fleet import parse_install_base
    from appwarden.sim.processes import MAX_AGENTS_PER_PROCESS
    from appwarden.sim.simulate import SimulationOptions, run_simulation

    if processes == 0 and devices > MAX_AGENTS_PER_PROCESS:
        processes = 1  # split over child processes
    try:
        options = SimulationOptions(
            server=server,
            devices=devices,
            token=token,
            install_base=parse_install_base(install_base),
            jitter=jitter,
            offline_share=offline_share,
            processes=processes,
            state_dir=state_dir,
            wait=wait,
            seed=seed,
        )
    except ValueError as error:
        raise _fail(str(error)) from None
    try:
        status = asyncio.run(run_simulation(options, duration=duration, console=console))
    except KeyboardInterrupt:
        return
    typer.echo(
        json.dumps(
            {
                "devices": devices,
                "enrolled": len(status.enrolled),
                "synced": len(status.synced),
                "errors": len(status.errors),
            }
        )
    )


def drill(
    devices: Annotated[int, typer.Option(min=1, help="How many devices.")],
    app: Annotated[str, typer.Option("--app", help="The app id to ban.")],
    server: Annotated[
        str | None, typer.Option(help="Drill against this server (default: start one).")
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the figures here.")
    ] = None,
    plot_file: Annotated[
        Path | None, typer.Option("--plot", help="Draw compliance over time (PNG).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="The started server's database (default SQLite).")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="The started server's workers.")] = 1,
    state_dir: Annotated[
        Path | None, typer.Option(help="Keep server, people and fleet here to run again.")
    ] = None,
    share: Annotated[float, typer.Option(min=0, max=1, help="Share of devices holding APP.")] = 1.0,
    offline_share: Annotated[float, typer.Option(min=0, max=1, help="Share offline.")] = 0.0,
    jitter: Annotated[float, typer.Option(min=0, help="Start spread, seconds.")] = 0.0,
    processes: Annotated[int, typer.Option(min=0, help="Simulator processes (0: this one).")] = 0,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for compliance.")] = 120.0,
    evidence: Annotated[
        Path | None, typer.Option(help="An app file the analyst uploads as the ban's evidence.")
    ] = None,
    operator_token: Annotated[
        str | None, typer.Option(envvar="APPWARDEN_DRILL_OPERATOR_TOKEN", help="With --server.")
    ] = None,
    analyst_token: Annotated[
        str | None, typer.Option(envvar="APPWARDEN_DRILL_ANALYST_TOKEN", help="With --server.")
    ] = None,
    approver_token: Annotated[
        str | None, typer.Option(envvar="APPWARDEN_DRILL_APPROVER_TOKEN", help="With --server.")
    ] = None,
) -> None:
    """Time an approved ban until 50/90/99/100 % of the online devices holding APP comply."""
    from appwarden.sim.drill import DrillOptions, run_drill
    from appwarden.sim.drill_api import DrillError, Tokens
    from appwarden.sim.drill_report import plot, print_table, write_json
    from appwarden.sim.drill_server import interrupt_on_sigterm

    tokens = None
    if server is not None:
        if not (operator_token and analyst_token and approver_token):
            raise _fail(
                "with --server, give --operator-token, --analyst-token and --approver-token"
            )
        tokens = Tokens(operator_token, analyst_token, approver_token)
    options = DrillOptions(
        devices=devices,
        app=app,
        server=server,
        tokens=tokens,
        database_url=database_url,
        workers=workers,
        state_dir=state_dir,
        share=share,
        offline_share=offline_share,
        jitter=jitter,
        processes=processes,
        timeout=timeout,
        evidence=evidence,
    )
    restore = interrupt_on_sigterm()
    try:
        result = asyncio.run(run_drill(options, console))
    except (DrillError, RuntimeError) as error:
        raise _fail(str(error)) from None
    finally:
        restore()
    print_table(result, Console())
    if json_file is not None:
        write_json(result, json_file)
    if plot_file is not None:
        plot(result, plot_file)
