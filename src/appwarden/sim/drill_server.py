"""The server a drill starts for itself: ``appwarden serve`` in a subprocess on a free port,
a data folder of its own (SQLite by default, or a given PostgreSQL URL), and the drill's
people created in its database the way ``appwarden users create`` does, with random
passwords (and TOTP secrets for those whose role needs one) kept in the drill's folder."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from appwarden.audit import service as audit
from appwarden.auth import service as auth
from appwarden.auth.roles import Role
from appwarden.clock import SystemClock
from appwarden.config import Settings
from appwarden.sim.processes import die_with_parent

#: The drill's people: the operator enrolls devices, the analyst proposes, the approver
#: approves (separation of duties holds: never the same user).
PEOPLE: tuple[tuple[str, Role], ...] = (
    ("drill-root", Role.admin),
    ("drill-operator", Role.operator),
    ("drill-analyst", Role.analyst),
    ("drill-approver", Role.approver),
)


@dataclass(frozen=True)
class Person:
    username: str
    role: str
    password: str
    totp_secret: str | None


def interrupt_on_sigterm() -> Callable[[], None]:
    """Turn SIGTERM into KeyboardInterrupt, so a drill that is told to stop still stops the
    server it started (its ``finally`` runs). Returns what puts the previous handler back,
    for a drill run inside a longer-lived process (a test run's)."""

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)

    def restore() -> None:
        if previous is not None:  # None: not set from Python, nothing to put back
            signal.signal(signal.SIGTERM, previous)

    return restore


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def server_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    """The environment of the drill's server: its own data folder and database, and
    enrollment open to a whole simulated fleet from a few loopback addresses."""
    env = dict(os.environ)
    env["APPWARDEN_DATA_DIR"] = str(data_dir)
    env["APPWARDEN_ENROLL_LIMIT"] = "100000000"
    env.pop("APPWARDEN_DATABASE_URL", None)
    if database_url:
        env["APPWARDEN_DATABASE_URL"] = database_url
    return env


def bootstrap_people(settings: Settings, folder: Path) -> dict[str, Person]:
    """Create the drill's users once (audited); their credentials live in ``folder``."""
    from appwarden import migrate
    from appwarden.db import make_engine, make_sessionmaker

    saved = folder / "people.json"
    if saved.exists():
        return {k: Person(**v) for k, v in json.loads(saved.read_text()).items()}
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database, pool_size=1)
    migrate.upgrade(engine)
    clock, key = SystemClock(), settings.audit_secret()
    people: dict[str, Person] = {}
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            actor = auth.SYSTEM.actor
            for username, role in PEOPLE:
                password = secrets.token_urlsafe(18)
                user, secret = auth.create_user(
                    session,
                    clock=clock,
                    username=username,
                    display_name=username,
                    role=role,
                    password=password,
                )
                audit.append(
                    session, key=key, clock=clock, actor=actor, action="user.create",
                    object_type="user", object_id=user.id,
                    after={"username": user.username, "role": user.role},
                )  # fmt: skip
                people[role.value] = Person(username, role.value, password, secret)
                actor = PEOPLE[0][0]
    finally:
        engine.dispose()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump({k: vars(v) for k, v in people.items()}, stream)
    return people


def sign_in(client: httpx.Client, person: Person) -> str:
    """``POST /api/v1/auth/token`` with password and, when the role needs it, TOTP."""
    body: dict[str, object] = {
        "username": person.username,
        "password": person.password,
        "token_name": "drill",
    }
    if person.totp_secret:
        body["totp"] = auth.totp_now(person.totp_secret, SystemClock())
    response = client.post("/api/v1/auth/token", json=body)
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


class LocalServer:
    """``appwarden serve`` in a subprocess; :meth:`stop` ends it (SIGTERM, then SIGKILL)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        workers: int = 1,
        port: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"

    @property
    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, database_url=self.database_url)

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-c", "from appwarden.cli.main import main; main()",
            "serve", "--port", str(self.port), "--workers", str(self.workers), "--no-access-log",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command,
                env=server_env(self.data_dir, self.database_url),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer within {timeout:.0f} s; see {self.log}")

    def pids(self) -> list[int]:
        """The server's processes (the main one and, with workers, its children)."""
        if self.process is None:
            return []
        found = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            found += [int(p) for p in children.read_text().split()]
        return found

    def worker_pids(self) -> list[int]:
        """The processes that run the app: the main one alone, or with ``workers`` > 1 its
        worker children (not the supervisor, nor multiprocessing's resource tracker)."""
        pids = self.pids()
        if self.workers <= 1:
            return pids[:1]
        return [pid for pid in pids[1:] if b"spawn_main" in _cmdline(pid)]  # uvicorn's

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
