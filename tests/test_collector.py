"""The garbage collector's thresholds in every server process (appwarden.collector)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError

from appwarden import collector
from appwarden.config import Settings

SHOW = "import gc, appwarden.asgi; print(*gc.get_threshold())"


def _served_thresholds(tmp_path: Path, **env: str) -> str:
    """The thresholds a server process runs with: the one uvicorn imports the app from."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("APPWARDEN_")}
    environment |= {"APPWARDEN_DATA_DIR": str(tmp_path / "data")} | env
    done = subprocess.run(
        [sys.executable, "-c", SHOW], env=environment, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_server_process_collects_less_often_than_cpythons_default(tmp_path: Path) -> None:
    assert _served_thresholds(tmp_path) == "50000 20 10"


def test_the_thresholds_are_the_operators_to_set(tmp_path: Path) -> None:
    assert _served_thresholds(tmp_path, APPWARDEN_GC_THRESHOLDS="[700, 10, 10]") == "700 10 10"


@pytest.mark.parametrize("value", ["[0, 10, 10]", "[50000, 0, 10]", "[50000, 20]", "fast"])
def test_thresholds_that_would_stop_or_break_collection_are_refused(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPWARDEN_GC_THRESHOLDS", value)
    # Not JSON at all is pydantic-settings' SettingsError; out of range, a ValidationError.
    with pytest.raises((ValidationError, SettingsError), match="gc_thresholds"):
        Settings()


def test_tune_sets_this_processs_thresholds() -> None:
    before = gc.get_threshold()
    try:
        collector.tune((1234, 5, 6))
        assert gc.get_threshold() == (1234, 5, 6)
    finally:
        gc.set_threshold(*before)
