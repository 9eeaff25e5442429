"""Fault tests: async ones run on asyncio (through anyio's pytest plugin)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The real PostgreSQL restart stops the database every other test shares, so it is
    not part of the suite: it runs by hand, with APPWARDEN_FAULTS_RESTART_POSTGRES=1
    (docs/reliability.md). Deselected otherwise, rather than reported as skipped."""
    if os.environ.get("APPWARDEN_FAULTS_RESTART_POSTGRES") == "1":
        return
    manual = [item for item in items if item.get_closest_marker("restarts_postgres")]
    if manual:
        config.hook.pytest_deselected(items=manual)
        items[:] = [item for item in items if item not in manual]
