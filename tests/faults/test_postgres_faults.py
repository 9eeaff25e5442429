"""PostgreSQL going away under running servers: every connection of the servers' database
cut (``pg_terminate_backend``: the pools and the ``LISTEN`` connections, as a restart of
PostgreSQL does), and, on request, a real restart of the cluster.

Cutting the connections of one test database disturbs nobody else on the shared
PostgreSQL; the real restart does (every session of every database drops), so it runs
only when ``APPWARDEN_FAULTS_RESTART_POSTGRES=1`` is set, by hand, in a group of its own.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from appwarden.enforcement.models import PolicyGeneration
from appwarden.sim.drill_server import LocalServer
from tests.enforcement.live import (
    APP_ID,
    AUDIT_KEY,
    Device,
    Fleet,
    Server,
    live_postgres,
)
from tests.faults.drills import Traffic, drill_with_fault, new_server, record_traffic
from tests.server import POSTGRES

__all__ = ["live_postgres"]  # the fixture
pytestmark = [pytest.mark.slow, pytest.mark.anyio]
CUT = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = :name AND pid <> pg_backend_pid() AND query LIKE :query"
)


class Cutter:
    """Terminates the backends of one database (those whose last query is like
    ``query``), once or every ``every`` seconds until stopped; counts them."""

    def __init__(self, url: str, query: str = "%") -> None:
        self.name = url.rsplit("/", 1)[1]
        self.query = query
        self.admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT", pool_size=1)
        self.cut = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def once(self) -> int:
        with self.admin.connect() as connection:
            done = int(connection.scalar(CUT, {"name": self.name, "query": self.query}) or 0)
        self.cut += done
        return done

    def start(self, every: float = 0.05) -> Cutter:
        def run() -> None:
            while not self._stop.is_set():
                self.once()
                self._stop.wait(every)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.admin.dispose()

    def listeners(self) -> int:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND query LIKE 'LISTEN%'"
        )
        with self.admin.connect() as connection:
            return int(connection.scalar(query, {"name": self.name}) or 0)


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _generation(fleet: Fleet) -> int:
    with fleet.engine.connect() as connection:
        return int(connection.scalar(select(PolicyGeneration.value)) or 0)


def test_a_wake_up_sent_while_the_listener_is_cut_off_is_not_missed(
    live_postgres: str, tmp_path: Path
) -> None:
    """A takes the ban; B (no recompiling, no polling: only NOTIFY wakes it) holds the
    parked long-polls. Every connection is cut, and B's LISTEN connection is cut again and
    again until A has committed the ban and notified; B must still wake its devices."""
    quiet = {"APPWARDEN_WAKEUPS": "notify", "APPWARDEN_DB_POOL_SIZE": "2"}
    a = Server(live_postgres, tmp_path / "a", quiet).start()
    b = Server(live_postgres, tmp_path / "b", quiet | {"APPWARDEN_RECONCILE": "false"}).start()
    fleet = Fleet(live_postgres)
    cutter = Cutter(live_postgres)
    try:
        phones = fleet.enroll(a, "government-issued", 3)
        etags = []
        for phone in phones:
            answer = phone.policy(b)
            assert answer.status_code == 200 and answer.json()["policy"]["banned"] == []
            etags.append(answer.json()["etag"])
        _wait(lambda: cutter.listeners() == 2, 30, "both servers should be listening")
        polls = [Poll(p, b, e) for p, e in zip(phones, etags, strict=True)]
        for poll in polls:
            poll.start()
        time.sleep(1)  # parked on B

        before = _generation(fleet)
        assert cutter.once() >= 2  # both pools' idle connections and both listeners
        listen = Cutter(live_postgres, "LISTEN%").start()
        try:
            fleet.ban(a, "government-issued")  # A's pool reconnects (pre-ping): no error
            _wait(lambda: _generation(fleet) > before, 60, "A should recompile after the ban")
        finally:
            listen.stop()
        for poll in polls:
            answer = poll.result(timeout=60)
            assert answer.status_code == 200, answer.text
            assert answer.json()["policy"]["banned"] == [APP_ID]
        assert "lost; reconnecting" in b.output()
        print(
            f"[listen cut] {cutter.cut} connections cut at once, then {listen.cut} LISTEN "
            f"connections while the ban was committed; 3/3 long-polls on B woke with the ban"
        )
        _audit_ok(live_postgres, tmp_path)
    finally:
        cutter.stop()
        fleet.close()
        a.stop()
        b.stop()


class Poll(threading.Thread):
    def __init__(self, device: Device, server: Server, etag: str) -> None:
        super().__init__(daemon=True)
        self.device, self.server, self.etag = device, server, etag
        self.response: object = None

    def run(self) -> None:
        self.response = self.device.policy(self.server, wait=120, etag=self.etag)

    def result(self, timeout: float) -> object:
        self.join(timeout=timeout)
        assert self.response is not None, "the long-poll did not answer"
        return self.response


def _audit_ok(url: str, folder: Path) -> None:
    env = {
        **os.environ,
        "APPWARDEN_DATABASE_URL": url,
        "APPWARDEN_AUDIT_KEY": AUDIT_KEY,
        "APPWARDEN_DATA_DIR": str(folder),
    }
    command = [sys.executable, "-c", "from appwarden.cli.main import main; main()"]
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [*command, "audit", "verify"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "chain intact" in done.stdout, done.stdout + done.stderr


@pytest.fixture
def traffic(monkeypatch: pytest.MonkeyPatch) -> Traffic:
    monkeypatch.setenv("APPWARDEN_DB_POOL_SIZE", "2")
    monkeypatch.setenv("APPWARDEN_JUDGE_INTERVAL_S", "1")
    return record_traffic(monkeypatch)


async def test_every_connection_cut_for_three_seconds_during_a_drill(
    live_postgres: str, tmp_path: Path, traffic: Traffic
) -> None:
    async def cut_for_three_seconds(server: LocalServer) -> str:
        cutter = Cutter(live_postgres).start(every=0.1)
        await asyncio.sleep(3)
        cutter.stop()
        assert cutter.cut > 0
        return f"{cutter.cut} connections cut in 3 s"

    server = new_server(tmp_path, live_postgres)
    try:
        outcome = await drill_with_fault(server, tmp_path, cut_for_three_seconds, traffic)
    finally:
        server.stop()
    print(outcome.line("postgresql connections cut"))
    assert "500" not in traffic.answers, traffic.answers  # 503 (retry) at most


@pytest.mark.xdist_group("postgres-restart")
@pytest.mark.restarts_postgres  # run by hand only: see tests/faults/conftest.py
async def test_postgresql_restarted_during_a_drill(
    live_postgres: str, tmp_path: Path, traffic: Traffic
) -> None:
    async def restart(server: LocalServer) -> str:
        (version,) = os.listdir("/etc/postgresql")
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]
        begun = time.monotonic()
        await asyncio.to_thread(subprocess.run, command, check=True)
        return f"pg_ctlcluster restart took {time.monotonic() - begun:.2f} s"

    server = new_server(tmp_path, live_postgres)
    try:
        outcome = await drill_with_fault(server, tmp_path, restart, traffic)
    finally:
        server.stop()
    print(outcome.line("postgresql restarted"))
    assert "500" not in traffic.answers, traffic.answers
