"""Security test fixtures: a cheap password hash (these tests are about refusals, not the
hash's cost; verifying reads the cost from the hash)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from appwarden.auth import service as auth


@pytest.fixture(autouse=True)
def _fast_password_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "_HASHER", cheap)
