"""Inventory tests run with the background distributor quiet, as compliance tests do:
policies are issued and devices judged only by what each test does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import Env, running_env


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    with running_env(database_url, tmp_path / "data", reconcile=False) as running:
        yield running
