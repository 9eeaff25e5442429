"""Console test fixtures: a cheap password hash, and a SQLite-only app for rendering tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from appwarden.auth import service as auth
from tests.server import Env, running_env


@pytest.fixture(autouse=True)
def _fast_password_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its smallest cost: a hash takes ~1 s here at the production cost, and
    these tests are about pages, not the hash (verifying reads the cost from the hash)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "_HASHER", cheap)


@pytest.fixture
def page_env(tmp_path: Path, _sqlite_template: Path) -> Iterator[Env]:
    """The app on SQLite only, for tests of rendering and language that write nothing the
    database could disagree on (they also run in every browser test)."""
    path = tmp_path / "appwarden.db"
    shutil.copy(_sqlite_template, path)
    with running_env(f"sqlite:///{path}", tmp_path / "data") as env:
        yield env
