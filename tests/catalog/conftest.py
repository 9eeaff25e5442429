"""Fixtures for catalog tests: tokens by role and a server with a small upload limit.
Everything runs on SQLite and on PostgreSQL (see tests/server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appwarden.auth.roles import Role
from tests.catalog.helpers import SMALL_LIMIT
from tests.server import Env, running_env


@pytest.fixture
def analyst(env: Env) -> str:
    return env.user("ana", Role.analyst)


@pytest.fixture
def auditor(env: Env) -> str:
    return env.user("aud", Role.auditor)


@pytest.fixture
def capped(database_url: str, tmp_path: Path) -> Iterator[Env]:
    """A server on the same database whose upload limit is ``SMALL_LIMIT`` bytes."""
    with running_env(database_url, tmp_path / "capped", upload_max_bytes=SMALL_LIMIT) as running:
        yield running
