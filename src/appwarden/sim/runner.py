"""``appwarden agent``: one agent whose identity, cached policy and apps live in a file."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console

from appwarden.clock import SystemClock
from appwarden.sim.agent import Agent, AgentConfig
from appwarden.sim.client import NETWORK_ERRORS, DeviceClient, ProtocolError, make_http
from appwarden.sim.inventory import InstalledApp
from appwarden.sim.packages import SimulatedPackageManager


def save_state(path: Path, agent: Agent, server: str) -> None:
    """Write the state file atomically, readable by its owner only (it holds the key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump({"server": server, **agent.state()}, stream)
    partial.replace(path)


async def run_agent(
    *,
    server: str,
    state: Path,
    token: str | None,
    apps: list[str],
    attributes: dict[str, Any],
    wait: int,
    once: bool,
    console: Console,
) -> None:
    clock = SystemClock()
    saved: dict[str, Any] = json.loads(state.read_text()) if state.exists() else {}
    identity, policy, installed = Agent.restore(saved)
    if not saved:
        installed = [InstalledApp.parse(spec) for spec in apps]
    http = make_http(server.rstrip("/"))
    agent = Agent(
        DeviceClient(http, clock),
        SimulatedPackageManager(installed),
        clock=clock,
        identity=identity,
        policy=policy,
        config=AgentConfig(wait=wait, attributes=attributes),
    )
    try:
        if agent.identity is None:
            if not token:
                raise ValueError("no saved identity in the state file: give --token to enroll")
            enrolled = await agent.enroll(token)
            save_state(state, agent, server)
            console.print(f"enrolled as {enrolled.device_id}")
        while True:
            try:
                changed = await agent.step(wait=0 if once else None)
            except NETWORK_ERRORS as error:
                console.print(
                    f"[yellow]offline ({type(error).__name__}); enforcing the cached policy"
                )
                if once:
                    agent.enforce()
                    return
                await agent.back_off()
                continue
            except ProtocolError as error:
                if error.status in (401, 403, 422) or once:
                    raise RuntimeError(str(error)) from None
                await agent.back_off()
                continue
            finally:
                save_state(state, agent, server)
            agent.failures = 0
            if changed and agent.policy is not None:
                held = ", ".join(a.app_id for a in agent.packages.inventory()) or "none"
                console.print(f"policy version {agent.policy.version}; apps: {held}")
            if once:
                return
            if not changed:
                await asyncio.sleep(agent.config.min_interval)
    finally:
        await http.aclose()
