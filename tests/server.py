"""Fixtures for tests of the server and its services, on SQLite and on PostgreSQL.

Every such test runs twice: on a fresh SQLite file and on PostgreSQL (127.0.0.1:5432,
trust auth; override with APPWARDEN_TEST_POSTGRES). Each pytest worker migrates one
PostgreSQL database of its own once, and empties its tables after every test. In CI a
missing PostgreSQL fails the run; elsewhere those tests are skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

from appwarden import migrate
from appwarden.app import create_app
from appwarden.audit import service as audit
from appwarden.auth import service as auth
from appwarden.auth.roles import Role
from appwarden.clock import FixedClock
from appwarden.config import Settings
from appwarden.db import Base, make_engine, make_sessionmaker
from appwarden.models import Base as _all_models  # noqa: F401  (registers every table)

POSTGRES = os.environ.get(
    "APPWARDEN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


def audited_changes(session: Session) -> int:
    """Audit events that record a change: refused attempts (``*.refused``, see
    appwarden.audit.refusals) change nothing else, so "changes nothing" leaves these alone."""
    from appwarden.audit.models import AuditEvent

    query = select(func.count()).where(AuditEvent.action.not_like("%.refused"))
    return int(session.scalar(query) or 0)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str]:
    name = f"appwarden_test_{os.getpid()}_{_worker()}"
    try:
        admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - any failure to reach PostgreSQL
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI: {error}")
        pytest.skip(f"PostgreSQL not reachable: {error}")
    url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url, pool_size=2)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # The one row the schema's migration seeds, as a fresh database has it.
        connection.execute(text("INSERT INTO policy_generation (id, value) VALUES (1, 0)"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "appwarden.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("_postgres_url")
    yield url
    engine = make_engine(url, pool_size=1)
    _empty(engine)
    engine.dispose()


@dataclass
class Env:
    """A running app on one database, with a clock the test controls."""

    settings: Settings
    clock: FixedClock
    client: TestClient
    engine: Engine

    def session(self) -> Session:
        return make_sessionmaker(self.engine)()

    def user(self, username: str, role: Role) -> str:
        """Create a user directly and return an API token for it."""
        with self.session() as session, session.begin():
            user, _secret = auth.create_user(
                session,
                clock=self.clock,
                username=username,
                display_name=username.title(),
                role=role,
                password=PASSWORD,
            )
            _token, clear = auth.issue_token(
                session, clock=self.clock, user=user, name="test", days=30
            )
        return clear

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def audit_ok(self) -> audit.Verification:
        with self.session() as session:
            return audit.verify(session, key=self.settings.audit_secret())


@contextmanager
def running_env(
    database_url: str,
    data_dir: Path,
    *,
    clock: FixedClock | None = None,
    **options: Any,
) -> Iterator[Env]:
    """The app running (lifespan included) on ``database_url`` with these settings."""
    settings = Settings(
        data_dir=data_dir, database_url=database_url, audit_key="test-audit-key", **options
    )
    clock = clock or FixedClock(START)
    app = create_app(settings, clock=clock)
    engine = app.state.context.engine
    try:
        with TestClient(app) as client:
            yield Env(settings=settings, clock=clock, client=client, engine=engine)
    finally:
        engine.dispose()


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    with running_env(database_url, tmp_path / "data") as running:
        yield running
