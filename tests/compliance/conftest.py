"""Compliance tests run with the background distributor quiet (``reconcile=False``), so
row counts and history move only by what each test does: policies are issued when a device
asks for one, statuses judged when it reports or someone reads them. The distributor's own
judging is tested in tests/enforcement/test_judging.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import Env, running_env


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    with running_env(database_url, tmp_path / "data", reconcile=False) as running:
        yield running
