"""Fixtures for catalog tests: tokens by role and a server with a small upload limit.
Everything runs on SQLite and on PostgreSQL (see tests/server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from appwarden.app import create_app
from appwarden.auth.roles import Role
from appwarden.clock import FixedClock
from appwarden.config import Settings
from tests.catalog.helpers import SMALL_LIMIT
from tests.server import START, Env


@pytest.fixture
def analyst(env: Env) -> str:
    return env.user("ana", Role.analyst)


@pytest.fixture
def auditor(env: Env) -> str:
    return env.user("aud", Role.auditor)


@pytest.fixture
def capped(database_url: str, tmp_path: Path) -> Iterator[Env]:
    """A server on the same database whose upload limit is ``SMALL_LIMIT`` bytes."""
    settings = Settings(
        data_dir=tmp_path / "capped",
        database_url=database_url,
        audit_key="test-audit-key",
        upload_max_bytes=SMALL_LIMIT,
    )
    clock = FixedClock(START)
    app = create_app(settings, clock=clock)
    engine = app.state.context.engine
    with TestClient(app) as client:
        yield Env(settings=settings, clock=clock, client=client, engine=engine)
    engine.dispose()
