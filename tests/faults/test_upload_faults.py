"""A server process killed (SIGKILL) or stopped (SIGTERM) while an app file is uploaded.

The upload is a 3 MB APK; the signal is sent once its staging file exists (the file is
being spooled, vetted or recorded). After SIGKILL: the upload is recorded fully (app,
assessment, stored file, audit event) or not at all, the staging file the dead process
left is removed when the server starts again, every stored file is complete (its name is
its SHA-256), and sending the file again works. After SIGTERM: the upload in flight
finishes (201) and is recorded before the process exits.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from appwarden.audit.models import AuditEvent
from appwarden.catalog.models import Assessment, Blob
from appwarden.db import make_engine
from appwarden.sim.drill import local_tokens
from appwarden.sim.drill_server import LocalServer
from tests.conftest import APPS, require
from tests.enforcement.live import live_postgres
from tests.faults.drills import audit_verify, new_server

__all__ = ["live_postgres"]  # the fixture, for the PostgreSQL runs
pytestmark = pytest.mark.slow
BIG = "instapaper.apk"


class Upload(threading.Thread):
    def __init__(self, server: LocalServer, token: str, path: Path) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.path = server.url, token, path
        self.response: httpx.Response | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        files = {"file": (self.path.name, self.path.read_bytes(), "application/octet-stream")}
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            self.response = httpx.post(
                f"{self.url}/api/v1/apps/upload", files=files, headers=headers, timeout=120
            )
        except httpx.TransportError as error:
            self.error = error


def staging(server: LocalServer) -> list[Path]:
    folder = server.settings.blobs_dir / ".staging"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def stored(server: LocalServer) -> list[Path]:
    root = server.settings.blobs_dir
    return sorted(p for p in root.glob("??/*") if p.is_file()) if root.is_dir() else []


def uploading(server: LocalServer, upload: Upload) -> Path:
    """The upload's staging file, as soon as it exists."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and upload.is_alive():
        found = staging(server)
        if found:
            return found[0]
        time.sleep(0.002)
    raise AssertionError(f"the upload ended before it was seen: {upload.response}")


def recorded(server: LocalServer) -> dict[str, int]:
    engine = make_engine(server.settings.database, pool_size=1)
    try:
        with engine.connect() as connection:
            uploads = select(func.count()).where(AuditEvent.action == "app.upload")
            return {
                "assessments": int(connection.scalar(select(func.count(Assessment.id))) or 0),
                "blobs": int(connection.scalar(select(func.count()).select_from(Blob)) or 0),
                "upload_events": int(connection.scalar(uploads) or 0),
            }
    finally:
        engine.dispose()


def database(store: str, request: pytest.FixtureRequest) -> str | None:
    return None if store == "sqlite" else str(request.getfixturevalue("live_postgres"))


@pytest.fixture(autouse=True)
def _small_pools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPWARDEN_DB_POOL_SIZE", "2")


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_sigkill_during_an_upload_leaves_nothing_half_written(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    apk = require(APPS / BIG)
    server = new_server(tmp_path, database(store, request))
    server.start()
    try:
        analyst = local_tokens(server, tmp_path).analyst
        upload = Upload(server, analyst, apk)
        upload.start()
        leftover = uploading(server, upload)
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
        upload.join(timeout=30)
        assert upload.response is None and upload.error is not None
        cut_off = leftover.exists()  # killed before the file was moved into the store

        after = recorded(server)
        assert after in (
            {"assessments": 0, "blobs": 0, "upload_events": 0},
            {"assessments": 1, "blobs": 1, "upload_events": 1},
        ), after
        for path in stored(server):  # complete, or not there at all
            assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
        if after["blobs"]:
            assert len(stored(server)) == 1

        server.start()
        assert staging(server) == [], "the dead upload's staging file is still there"
        assert not leftover.exists()
        again = Upload(server, analyst, apk)
        again.run()
        assert again.response is not None and again.response.status_code == 201
        final = recorded(server)
        assert final["assessments"] == after["assessments"] + 1 and final["blobs"] == 1
        assert len(stored(server)) == 1
        print(f"[sigkill upload {store}] staging file left: {cut_off}; recorded: {after}")
        print(f"[sigkill upload {store}] audit {audit_verify(server)}")
    finally:
        server.stop()


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_sigterm_lets_an_upload_in_flight_finish(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    apk = require(APPS / BIG)
    server = new_server(tmp_path, database(store, request))
    server.start()
    try:
        analyst = local_tokens(server, tmp_path).analyst
        upload = Upload(server, analyst, apk)
        upload.start()
        uploading(server, upload)
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        upload.join(timeout=120)
        assert upload.response is not None, upload.error
        assert upload.response.status_code == 201, upload.response.text
        assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)
        assert recorded(server) == {"assessments": 1, "blobs": 1, "upload_events": 1}
        assert staging(server) == []
        (path,) = stored(server)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
        print(f"[sigterm upload {store}] audit {audit_verify(server)}")
    finally:
        server.stop()
