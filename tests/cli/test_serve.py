"""`appwarden serve` starts a real server: the schema is upgraded, health answers."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_upgrades_the_database_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "APPWARDEN_DATA_DIR": str(tmp_path)}
    env.pop("APPWARDEN_DATABASE_URL", None)
    script = Path(sys.executable).with_name("appwarden")
    server = subprocess.Popen(
        [str(script), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        denied = httpx.get(f"http://127.0.0.1:{port}/api/v1/auth/me")
        assert denied.status_code == 401
        assert denied.headers["content-type"].startswith("application/problem+json")
        assert (tmp_path / "appwarden.db").exists()
        assert (tmp_path / "audit.key").stat().st_mode & 0o077 == 0
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode()
    # Every line of the log starts with its time and the process that wrote it: uvicorn's,
    # the access log's and AppWarden's own.
    stamp = rf"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}} \[{server.pid}\] "
    lines = [line for line in output.splitlines() if line.strip()]
    assert any("Application startup complete" in line for line in lines), output
    assert any('"GET /healthz HTTP/1.1" 200' in line for line in lines), output
    unstamped = [line for line in lines if not re.match(stamp, line)]
    assert unstamped == [line for line in lines if line.startswith("appwarden: ")], output


def test_serve_gives_busy_workers_time_to_answer_the_supervisor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With several workers, a worker busy with a ban must not be killed for missing
    uvicorn's default 5 s health check (every long-poll parked on it would drop)."""
    from typer.testing import CliRunner

    from appwarden import serving
    from appwarden.cli.main import app
    from appwarden.cli.server import WORKER_HEALTHCHECK_S

    started: dict[str, object] = {}
    monkeypatch.setattr(serving, "run", lambda target, **options: started.update(options))
    monkeypatch.setenv("APPWARDEN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("APPWARDEN_ALLOCATOR", "system")  # on jemalloc, serve would restart
    # this very process (pytest's) with it preloaded: see tests/test_allocator.py
    result = CliRunner().invoke(app, ["serve", "--workers", "2", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert started["workers"] == 2
    assert started["timeout_worker_healthcheck"] == WORKER_HEALTHCHECK_S >= 30


def test_serve_refuses_a_bad_inventory_sources_file_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sources file that cannot be used stops the server at once, in one line, before
    the database is touched — not with a traceback from every worker."""
    from typer.testing import CliRunner

    from appwarden import serving
    from appwarden.cli.main import app

    started: list[object] = []
    monkeypatch.setattr(serving, "run", lambda target, **options: started.append(target))
    monkeypatch.setenv("APPWARDEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("APPWARDEN_ALLOCATOR", "system")  # serve runs in this process
    sources = tmp_path / "sources.toml"
    sources.write_text("[[source]]\nname = 'x'\nkind = 'jamf'\n")
    monkeypatch.setenv("APPWARDEN_INVENTORY_SOURCES", str(sources))
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1 and not started
    assert "appwarden: error: inventory sources" in result.stderr
    assert not (tmp_path / "data").exists()


_LIMIT = """
import resource, sys
from appwarden.cli.server import FILES_RESERVED, connection_limit
_soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096) // 2, hard))
print(connection_limit(None), connection_limit(50), connection_limit(10**9),
      resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard, FILES_RESERVED)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="open-file limits are Unix's")
def test_the_connection_limit_keeps_files_free_for_the_database() -> None:
    """In a process of its own: the soft open-file limit is raised to the hard one, and
    the connections a worker takes leave FILES_RESERVED files free."""
    out = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", _LIMIT], capture_output=True, text=True, check=True
    ).stdout.split()
    automatic, configured, too_many, soft, hard, reserved = map(int, out)
    assert soft == hard  # raised from half of it
    assert automatic == hard - reserved and too_many == automatic
    assert configured == 50


def test_a_worker_at_its_connection_limit_answers_503_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appwarden.sim.drill_server import LocalServer

    monkeypatch.setenv("APPWARDEN_MAX_CONNECTIONS", "10")
    server = LocalServer(tmp_path / "data", workers=1)
    server.start()
    held: list[socket.socket] = []
    try:
        for _ in range(10):  # idle connections, as parked long-polls hold them
            held.append(socket.create_connection(("127.0.0.1", server.port)))
        time.sleep(0.5)
        refused = httpx.get(f"{server.url}/healthz", timeout=10)
        assert refused.status_code == 503 and refused.headers["connection"] == "close"
        for connection in held:
            connection.close()
        held.clear()
        deadline = time.monotonic() + 10
        while (answer := httpx.get(f"{server.url}/healthz", timeout=10)).status_code == 503:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert answer.status_code == 200
    finally:
        for connection in held:
            connection.close()
        server.stop()
