"""Real ``appwarden serve`` processes for the wake-up and shutdown tests, and what they
need: a database of their own, users, a catalog, enrolled devices that sign requests."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from appwarden.clock import SystemClock
from appwarden.db import make_engine, make_sessionmaker
from appwarden.protocol.v1.signing import signed_headers
from tests.decisions.support import Actors, Catalog, actors, draft_body, seed_catalog
from tests.server import POSTGRES

AUDIT_KEY = "live-test-audit-key"
APP_ID = "com.zhiliaoapp.musically"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """One ``appwarden serve`` process."""

    database_url: str
    data_dir: Path
    options: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = {
            **os.environ,
            "APPWARDEN_DATA_DIR": str(self.data_dir),
            "APPWARDEN_DATABASE_URL": self.database_url,
            "APPWARDEN_AUDIT_KEY": AUDIT_KEY,
            "APPWARDEN_DB_POOL_SIZE": "2",
            **self.options,
        }
        script = Path(sys.executable).with_name("appwarden")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # A file, not a pipe: an unread pipe fills up and blocks the server's logging.
        with (self.data_dir / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(script), "serve", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/healthz", timeout=1).raise_for_status()
                return self
            except httpx.TransportError:
                if self.process.poll() is not None:
                    raise AssertionError(self.output()) from None
                assert time.monotonic() < deadline, "the server did not start in 60 s"
                time.sleep(0.1)

    def output(self) -> str:
        log = self.data_dir / "server.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Db:
    """The shape of ``tests.server.Env`` the shared helpers use, on the real clock."""

    engine: Engine
    clock: SystemClock = field(default_factory=SystemClock)

    def session(self) -> Session:
        return make_sessionmaker(self.engine)()


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'appwarden.db'}"


@pytest.fixture
def live_postgres() -> Iterator[str]:
    """A PostgreSQL database of this test's own (the servers migrate it)."""
    name = f"appwarden_live_{os.getpid()}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    try:
        admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - any failure to reach PostgreSQL
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class Fleet:
    """Users and a catalog written straight into the database; groups, tokens, devices and
    the ban through a server's API."""

    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url, pool_size=1)
        db: Any = Db(self.engine)
        self.who: Actors = actors(db)
        self.catalog: Catalog = seed_catalog(db)

    def close(self) -> None:
        self.engine.dispose()

    def _api(self, server: Server, token: str, path: str, body: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{server.url}/api/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def enroll(self, server: Server, group: str, count: int) -> list[Device]:
        group_id = self._api(server, self.who.olu, "/groups", {"name": group})["id"]
        token = self._api(
            server, self.who.olu, "/enrollment-tokens", {"group_id": group_id, "max_uses": count}
        )["token"]
        return [Device.enroll(server, token) for _ in range(count)]

    def ban(self, server: Server, group: str) -> int:
        """Propose and approve (as an interim measure) a ban of the app in ``group``."""
        target = {"kind": "app", "app_id": APP_ID, "platform": None}
        body = draft_body(self.catalog, target=target, scope=[group])
        number = int(self._api(server, self.who.ana, "/determinations", body)["id"])
        self._api(server, self.who.ana, f"/determinations/{number}/propose", {})
        note = {"note": "urgent"}
        self._api(server, self.who.alex, f"/determinations/{number}/approve-interim", note)
        return number


class Device:
    """An enrolled device that signs its requests with the real clock."""

    def __init__(self, device_id: str, key: Ed25519PrivateKey) -> None:
        self.id, self.key = device_id, key

    @staticmethod
    def enrollment(token: str) -> tuple[Ed25519PrivateKey, dict[str, str]]:
        """A new key pair and the ``POST /v1/enroll`` body of a corporate Android device."""
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        body = {
            "token": token,
            "platform": "android",
            "ownership": "corporate",
            "public_key": base64.b64encode(raw).decode(),
        }
        return key, body

    @classmethod
    def enroll(cls, server: Server, token: str) -> Device:
        key, body = cls.enrollment(token)
        response = httpx.post(f"{server.url}/v1/enroll", json=body, timeout=30)
        assert response.status_code == 201, response.text
        return cls(response.json()["device_id"], key)

    def policy(
        self, server: Server, *, wait: int | None = None, etag: str | None = None
    ) -> httpx.Response:
        target = "/v1/policy" + (f"?wait={wait}" if wait is not None else "")
        headers = signed_headers(
            self.key, device_id=self.id, method="GET", target=target, timestamp=int(time.time())
        )
        if etag is not None:
            headers["If-None-Match"] = f'"{etag}"'
        timeout = (wait or 0) + 30
        return httpx.get(f"{server.url}{target}", headers=headers, timeout=timeout)
