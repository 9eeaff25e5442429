"""`appwarden demo` (what `make run` uses): once, idempotent, real vetting or none."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from appwarden.cli.main import app
from tests.conftest import APPS, require

runner = CliRunner()


def _counts(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(data_dir / "appwarden.db") as db:
        tables = ("users", "publishers", "apps", "assessments", "determinations")
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APPWARDEN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("APPWARDEN_DATABASE_URL", raising=False)
    return tmp_path


def test_demo_without_app_files_invents_no_assessment(data_dir: Path) -> None:
    result = runner.invoke(app, ["demo", "--apps", str(data_dir / "missing")])
    assert result.exit_code == 0, result.output
    assert "none are invented" in result.stdout
    counts = _counts(data_dir)
    assert counts == {"users": 5, "publishers": 4, "apps": 6, "assessments": 0, "determinations": 3}
    credentials = (data_dir / "demo-credentials.txt").read_text()
    assert credentials.count("password") == 5 and credentials.count("totp-secret") == 2
    assert (data_dir / "demo-credentials.txt").stat().st_mode & 0o077 == 0
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0


def test_demo_vets_real_files_once(data_dir: Path) -> None:
    folder = require(APPS)
    first = runner.invoke(app, ["demo", "--apps", str(folder)])
    assert first.exit_code == 0, first.output
    assert "CertChain.apk: not an Android app" in first.stdout
    counts = _counts(data_dir)
    assert (
        counts["assessments"]
        == len([p for p in folder.iterdir() if p.suffix in (".apk", ".ipa")]) - 1
    )
    again = runner.invoke(app, ["demo", "--apps", str(folder)])
    assert again.exit_code == 0 and _counts(data_dir) == counts
