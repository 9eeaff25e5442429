"""Compliance tests run with the background distributor quiet (``reconcile=False``), so
row counts and history move only by what each test does: policies are issued when a device
asks for one, statuses judged when it reports or someone reads them. The distributor's own
judging is tested in tests/enforcement/test_judging.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from appwarden.app import create_app
from appwarden.clock import FixedClock
from appwarden.config import Settings
from tests.server import START, Env


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        audit_key="test-audit-key",
        reconcile=False,
    )
    clock = FixedClock(START)
    app = create_app(settings, clock=clock)
    engine = app.state.context.engine
    with TestClient(app) as client:
        yield Env(settings=settings, clock=clock, client=client, engine=engine)
    engine.dispose()
