"""Several server workers share the port evenly (appwarden.serving).

A real supervisor with three workers answers with each worker's pid. Connections opened
in one burst queue up before any worker accepts; on a single shared socket the first
worker to wake takes the whole burst, with a socket per worker the kernel spreads them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from appwarden import serving
from bench._procstat import worker_pids

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not serving.SPREADS_CONNECTIONS, reason="the kernel does not balance"),
]

WORKERS = 3
BURST = 300

PID_APP = """
import os
import time

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/busy":  # hold this worker's event loop, as a ban's work does
        time.sleep(3)
    body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""

START = """
import sys
from appwarden import serving
if __name__ == "__main__":  # workers are spawned: they import this file again
    serving.run("pid_app:app", workers=int(sys.argv[2]), port=int(sys.argv[1]),
                log_level="warning", timeout_worker_healthcheck=10)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ask(connections: list[socket.socket]) -> list[int]:
    """Send one request on each open connection; the pids that answered, in order."""
    for sock in connections:
        sock.sendall(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
    return [answer(sock) for sock in connections]


def answer(sock: socket.socket) -> int:
    """The pid in the answer to the request sent on ``sock``, which is then closed."""
    sock.settimeout(10)
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    sock.close()
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    return int(received.split(b"\r\n\r\n", 1)[1])


def burst(port: int, count: int = BURST) -> list[int]:
    """Open ``count`` connections at once, before sending anything, then ask on each."""
    connections = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    return ask(connections)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    (tmp_path / "pid_app.py").write_text(PID_APP)
    (tmp_path / "start.py").write_text(START)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    process = subprocess.Popen(
        [sys.executable, "start.py", str(port), str(WORKERS)], cwd=tmp_path, env=env
    )
    deadline = time.monotonic() + 60
    while not ready(port) or len(set(burst(port, 30))) < WORKERS:
        assert time.monotonic() < deadline, "the workers did not all start"
        assert process.poll() is None, "the server exited"
        time.sleep(0.2)
    yield process, port
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def ready(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_a_busy_worker_still_gets_its_share_of_new_connections(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    """On one shared socket the idle workers accept the whole burst while the busy one
    cannot; with a socket each, the busy worker's share waits on its own socket until it
    is free again (the real case: a worker busy with a ban, others idle with parked
    long-polls)."""
    process, port = server
    busy = socket.create_connection(("127.0.0.1", port), timeout=10)
    busy.sendall(b"GET /busy HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
    time.sleep(0.5)  # the worker that took it is now inside its 3 s
    counts = Counter(burst(port))
    busy_pid = answer(busy)
    assert set(counts) <= set(worker_pids(process.pid))
    assert len(counts) == WORKERS, counts
    # A fair spread gives 100 each, give or take 8 (one standard deviation).
    assert all(60 <= count <= 140 for count in counts.values()), counts
    assert counts[busy_pid] >= 60


def test_a_worker_that_dies_leaves_no_socket_behind(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    """Its connections go to the others and to its replacement; none wait on a socket
    nobody accepts from (the supervisor holds no copy of a worker's socket)."""
    process, port = server
    victim = worker_pids(process.pid)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while victim in worker_pids(process.pid) or len(worker_pids(process.pid)) < WORKERS:
        assert time.monotonic() < deadline, "the worker was not replaced"
        time.sleep(0.2)
    counts: Counter[int] = Counter()
    while len(counts) < WORKERS:  # until the replacement listens
        assert time.monotonic() < deadline, f"the replacement never answered: {counts}"
        counts = Counter(burst(port, 60))
    counts = Counter(burst(port))
    assert victim not in counts
    assert set(counts) == set(worker_pids(process.pid)), counts
    assert sum(counts.values()) == BURST


def test_a_second_server_on_the_same_port_is_refused(
    server: tuple[subprocess.Popen[bytes], int], tmp_path: Path
) -> None:
    """Sockets that share a port would let a second server of the same user join the
    first and split its connections; it must stop instead, as uvicorn does."""
    _process, port = server
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    second = subprocess.run(
        [sys.executable, "start.py", str(port), str(WORKERS)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert second.returncode == 3, second.stderr[-2000:]  # uvicorn's STARTUP_FAILURE
    assert b"Address already in use" in second.stderr, second.stderr[-2000:]
    assert len(set(burst(port, 60))) == WORKERS  # the first one serves on, alone
