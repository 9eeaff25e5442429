"""Shared test helpers: where the shared fixture apps are, and a guard for CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appwarden import collector

SHARED = Path(__file__).resolve().parents[2] / "shared"
APPS = SHARED / "fixtures" / "apps"
EXODUS_SNAPSHOT = SHARED / "data" / "exodus_trackers.json"


def require(path: Path) -> Path:
    """The path, or a skip when it is missing locally (in CI a missing fixture fails)."""
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{path} is missing in CI")
        pytest.skip(f"{path} is missing")
    return path


def fixture_apks() -> list[Path]:
    return sorted(APPS.glob("*.apk")) if APPS.is_dir() else []


@pytest.fixture
def apps_dir() -> Path:
    return require(APPS)


@pytest.fixture
def exodus_snapshot() -> Path:
    return require(EXODUS_SNAPSHOT)


@pytest.fixture(autouse=True)
def _isolated_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets its own APPWARDEN_DATA_DIR, so nothing reads the user's real one."""
    monkeypatch.setenv("APPWARDEN_DATA_DIR", str(tmp_path_factory.mktemp("data")))


pytest_plugins = ["tests.server"]


def pytest_configure(config: pytest.Config) -> None:
    """Test processes collect garbage as server processes do (appwarden.collector): with
    CPython's default thresholds a test session's many long-lived objects were rescanned
    again and again (12 % of the CPU of a 303-test sample, 8 % of its time)."""
    collector.tune(collector.SERVER_THRESHOLDS)
