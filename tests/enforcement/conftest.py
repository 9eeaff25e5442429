"""Apps with chosen settings on the test database (e.g. background recompilation off, so
a test can run :func:`~appwarden.enforcement.reconcile.reconcile` itself and count)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from appwarden.app import create_app
from appwarden.clock import FixedClock
from appwarden.config import Settings
from tests.server import START, Env

MakeEnv = Callable[..., Env]


@pytest.fixture
def make_env(database_url: str, tmp_path: Path) -> Iterator[MakeEnv]:
    """``make_env(**settings)``: a running app on this test's database; several may share it."""
    stack = ExitStack()
    clock = FixedClock(START)

    def make(**options: Any) -> Env:
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=database_url,
            audit_key="test-audit-key",
            **options,
        )
        app = create_app(settings, clock=clock)
        engine = app.state.context.engine
        stack.callback(engine.dispose)
        client = stack.enter_context(TestClient(app))
        return Env(settings=settings, clock=clock, client=client, engine=engine)

    with stack:
        yield make
