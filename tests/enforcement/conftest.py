"""Apps with chosen settings on the test database (e.g. background recompilation off, so
a test can run :func:`~appwarden.enforcement.reconcile.reconcile` itself and count)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from appwarden.clock import FixedClock
from tests.server import START, Env, running_env

MakeEnv = Callable[..., Env]


@pytest.fixture
def make_env(database_url: str, tmp_path: Path) -> Iterator[MakeEnv]:
    """``make_env(**settings)``: a running app on this test's database; several may share it."""
    stack = ExitStack()
    clock = FixedClock(START)

    def make(**options: Any) -> Env:
        running = running_env(database_url, tmp_path / "data", clock=clock, **options)
        return stack.enter_context(running)

    with stack:
        yield make
