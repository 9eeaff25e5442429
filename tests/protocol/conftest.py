"""Fixtures for device protocol tests: an operator (for groups and tokens)."""

from __future__ import annotations

import pytest

from appwarden.auth.roles import Role
from tests.server import Env


@pytest.fixture
def operator(env: Env) -> str:
    return env.user("ops", Role.operator)
