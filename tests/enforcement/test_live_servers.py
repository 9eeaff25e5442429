"""Real server processes: a ban approved through one wakes a device long-polling another
(PostgreSQL NOTIFY, database polling off); SIGTERM releases parked long-polls; a kill -9
between a ban's commit and its recompilation loses nothing."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from appwarden.enforcement.models import PolicyChange
from tests.enforcement.live import APP_ID, Device, Fleet, Server, live_postgres, sqlite_url

__all__ = ["live_postgres"]  # the fixture, imported for the tests below
pytestmark = pytest.mark.slow


class Poll(threading.Thread):
    def __init__(self, device: Device, server: Server, etag: str, wait: int) -> None:
        super().__init__(daemon=True)
        self.device, self.server, self.etag, self.wait = device, server, etag, wait
        self.response: httpx.Response | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.response = self.device.policy(self.server, wait=self.wait, etag=self.etag)
        except BaseException as error:  # noqa: BLE001 - reported by result()
            self.error = error

    def result(self, timeout: float) -> httpx.Response:
        self.join(timeout=timeout)
        assert self.response is not None, f"no answer: {self.error!r}"
        return self.response


def _policy(device: Device, server: Server) -> dict[str, Any]:
    response = device.policy(server)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_ban_approved_on_one_server_wakes_a_long_poll_on_another(
    live_postgres: str, tmp_path: Path
) -> None:
    quiet = {"APPWARDEN_WAKEUPS": "notify"}
    a = Server(live_postgres, tmp_path / "a", quiet).start()
    # B never recompiles by itself and never polls the database: only NOTIFY can wake it.
    b_options = quiet | {"APPWARDEN_RECONCILE": "false"}
    b = Server(live_postgres, tmp_path / "b", b_options).start()
    fleet = Fleet(live_postgres)
    try:
        (phone,) = fleet.enroll(a, "government-issued", 1)
        first = _policy(phone, b)
        assert first["policy"]["banned"] == []
        poll = Poll(phone, b, first["etag"], wait=120)
        poll.start()
        time.sleep(1)  # let the long-poll park on B (a later ban would be found when parking)
        fleet.ban(a, "government-issued")
        answer = poll.result(timeout=60)  # well before the 120 s timeout
        assert answer.status_code == 200, answer.text
        assert answer.json()["policy"]["banned"] == [APP_ID]
        assert answer.json()["version"] == first["version"] + 1
    finally:
        fleet.close()
        a.stop()
        b.stop()


def test_sigterm_releases_parked_long_polls_and_the_server_exits(tmp_path: Path) -> None:
    server = Server(sqlite_url(tmp_path), tmp_path).start()
    fleet = Fleet(sqlite_url(tmp_path))
    try:
        phones = fleet.enroll(server, "government-issued", 2)
        polls = [Poll(p, server, _policy(p, server)["etag"], wait=300) for p in phones]
        for poll in polls:
            poll.start()
        time.sleep(1)  # let them park
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        for poll in polls:
            assert poll.result(timeout=30).status_code == 304
        # uvicorn re-raises the signal once its graceful shutdown is complete
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in server.output()
    finally:
        fleet.close()
        server.stop()


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_kill_9_after_the_commit_before_recompiling_loses_no_ban(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = sqlite_url(tmp_path) if store == "sqlite" else request.getfixturevalue("live_postgres")
    # Background recompilation off: the ban's commit is followed by nothing, like a crash.
    doomed = Server(url, tmp_path / "one", {"APPWARDEN_RECONCILE": "false"}).start()
    fleet = Fleet(url)
    try:
        phones = fleet.enroll(doomed, "government-issued", 5)
        etags = [_policy(p, doomed)["etag"] for p in phones]
        fleet.ban(doomed, "government-issued")
        assert doomed.process is not None
        doomed.process.send_signal(signal.SIGKILL)
        doomed.process.wait(timeout=30)
        with fleet.engine.connect() as connection:
            waiting = connection.scalar(
                select(func.count()).where(PolicyChange.processed_at.is_(None))
            )
        assert waiting, "the ban's change should be waiting in the outbox"

        restarted = Server(url, tmp_path / "two").start()
        try:
            for phone, etag in zip(phones, etags, strict=True):
                answer = phone.policy(restarted, wait=60, etag=etag)
                assert answer.status_code == 200, answer.text
                assert answer.json()["policy"]["banned"] == [APP_ID]
        finally:
            restarted.stop()
    finally:
        fleet.close()
        doomed.stop()
