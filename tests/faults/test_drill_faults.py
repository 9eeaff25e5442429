"""The server stopped (SIGTERM) or killed (SIGKILL) in the middle of a propagation drill,
then started again on the same port; on SQLite and PostgreSQL. See tests/faults/drills.py
for the drill and what is checked after it."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from appwarden.sim.drill_server import LocalServer
from tests.enforcement.live import live_postgres
from tests.faults.drills import Fault, Traffic, drill_with_fault, new_server, record_traffic

__all__ = ["live_postgres"]  # the fixture, for the PostgreSQL runs
pytestmark = [pytest.mark.slow, pytest.mark.anyio]


def database(store: str, request: pytest.FixtureRequest) -> str | None:
    return None if store == "sqlite" else str(request.getfixturevalue("live_postgres"))


@pytest.fixture
def traffic(monkeypatch: pytest.MonkeyPatch) -> Traffic:
    monkeypatch.setenv("APPWARDEN_DB_POOL_SIZE", "2")
    monkeypatch.setenv("APPWARDEN_JUDGE_INTERVAL_S", "1")  # the silent devices judged soon
    return record_traffic(monkeypatch)


async def sigterm(server: LocalServer) -> str:
    """Graceful stop: parked long-polls answer, requests in flight finish, then exit."""
    process = server.process
    assert process is not None
    begun = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(process.wait, 60)
    stopped = time.monotonic()
    assert code in (0, -signal.SIGTERM), code
    log = server.log.read_text(errors="replace")
    shutdown = log[log.rindex("Shutting down") :]
    assert "Application shutdown complete" in shutdown
    # No request failed on the way out (the background judge's own retries aside: see
    # "Found, not fixed" in docs/reliability.md).
    assert "Exception in ASGI application" not in shutdown, shutdown[-3000:]
    await asyncio.to_thread(server.start)
    return f"exit {stopped - begun:.2f} s, restart {time.monotonic() - stopped:.2f} s"


async def sigkill(server: LocalServer) -> str:
    process = server.process
    assert process is not None
    process.send_signal(signal.SIGKILL)
    await asyncio.to_thread(process.wait, 60)
    stopped = time.monotonic()
    await asyncio.to_thread(server.start)
    return f"restart {time.monotonic() - stopped:.2f} s"


@pytest.mark.parametrize("fault", [sigterm, sigkill], ids=["sigterm", "sigkill"])
@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
async def test_the_server_stopped_during_a_drill(
    store: str,
    fault: Fault,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    traffic: Traffic,
) -> None:
    server = new_server(tmp_path, database(store, request))
    try:
        outcome = await drill_with_fault(server, tmp_path, fault, traffic)
    finally:
        server.stop()
    print(outcome.line(f"{fault.__name__} drill {store}"))
    # A graceful stop answers what it took on, and a killed server's requests fail as
    # connection errors the agents retry: no request the agents sent failed with 5xx.
    assert not [status for status in traffic.answers if status.startswith("5")], traffic
