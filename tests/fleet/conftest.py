"""Fixtures for fleet tests: an operator and an analyst, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from appwarden.auth.roles import Role
from tests.server import Env


@pytest.fixture
def operator(env: Env) -> str:
    return env.user("ops", Role.operator)


@pytest.fixture
def analyst(env: Env) -> str:
    return env.user("ana", Role.analyst)
