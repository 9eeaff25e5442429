"""``appwarden report``: the same report from the command line; bad input writes nothing."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from appwarden.cli import acting
from appwarden.cli.main import app
from tests.compliance_report.support import scene
from tests.decisions.support import iso
from tests.server import Env


@pytest.fixture
def cli(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("APPWARDEN_DATABASE_URL", env.settings.database)
    monkeypatch.setenv("APPWARDEN_AUDIT_KEY", "test-audit-key")
    monkeypatch.setattr(acting, "SystemClock", lambda: env.clock)
    return env


def test_cli_writes_the_report_as_of_a_date(cli: Env, tmp_path: Path) -> None:
    s = scene(cli)
    out = tmp_path / "report.csv"
    args = ["report", "--as-of", iso(s.before), "--determination", str(s.number)]
    result = CliRunner().invoke(
        app, [*args, "--format", "csv", "--out", str(out)], env={"APPWARDEN_TOKEN": s.who.aude}
    )
    assert result.exit_code == 0, (result.stdout, result.stderr)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert sorted(r["status"] for r in rows) == ["exempt", "non_compliant", "non_compliant"]
    now = CliRunner().invoke(app, ["report"], env={"APPWARDEN_TOKEN": s.who.aude})
    assert now.exit_code == 0, now.stderr
    assert json.loads(now.stdout)["removed"] == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--as-of", "2999-01-01"], "in the future"),
        (["--as-of", "yesterday"], "neither a date"),
        (["--as-of", "2020-01-01"], "before the first compliance record"),
        (["--determination", "9999"], "9999"),
        (["--format", "pdf"], "unknown report format 'pdf'"),
    ],
)
def test_cli_bad_input_writes_nothing(
    cli: Env, tmp_path: Path, extra: list[str], message: str
) -> None:
    s = scene(cli)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["report", *extra, "--out", str(out)], env={"APPWARDEN_TOKEN": s.who.aude}
    )
    assert result.exit_code == 1
    assert message in result.stderr
    assert not out.exists()


def test_cli_needs_a_token(cli: Env) -> None:
    result = CliRunner().invoke(app, ["report"], env={"APPWARDEN_TOKEN": ""})
    assert result.exit_code == 1 and "APPWARDEN_TOKEN" in result.stderr
