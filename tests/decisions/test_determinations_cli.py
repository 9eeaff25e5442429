"""``appwarden determinations``: the service functions, as a signed-in user, same rules."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from appwarden.auth.roles import Role
from appwarden.cli import acting
from appwarden.cli.main import app
from tests.decisions.support import (
    actors,
    counts,
    draft_body,
    get,
    ok,
    promote,
    seed_catalog,
    stored_status,
)
from tests.server import Env


@pytest.fixture
def cli(env: Env, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI on the test's database, reading the test's clock."""
    monkeypatch.setenv("APPWARDEN_DATABASE_URL", env.settings.database)
    monkeypatch.setenv("APPWARDEN_AUDIT_KEY", "test-audit-key")
    monkeypatch.setattr(acting, "SystemClock", lambda: env.clock)
    return CliRunner()


def run(cli: CliRunner, token: str, *args: str, code: int = 0, stdin: str | None = None) -> str:
    result = cli.invoke(app, ["determinations", *args], env={"APPWARDEN_TOKEN": token}, input=stdin)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


def test_the_lifecycle_from_the_command_line(env: Env, cli: CliRunner, tmp_path: Path) -> None:
    who, catalog = actors(env), seed_catalog(env)
    body = tmp_path / "ban.json"
    body.write_text(json.dumps(draft_body(catalog)))
    assert run(cli, who.ana, "create", str(body)) == "created draft determination 1\n"
    assert "now proposed" in run(cli, who.ana, "propose", "1")
    deadline = (env.clock.now() + timedelta(days=2)).isoformat()
    assert "now notice" in run(cli, who.ana, "send-notice", "1", "--reply-deadline", deadline)
    markdown = run(cli, who.aude, "notice", "1")
    assert markdown.startswith("# Notice of proposed determination")
    out = tmp_path / "notice.html"
    run(cli, who.aude, "notice", "1", "--format", "html", "--out", str(out))
    assert "<!DOCTYPE html>" in out.read_text()

    early = run(cli, who.alex, "approve", "1", code=1)
    assert early.startswith("appwarden: error: the vendor may reply until")
    env.clock.advance(timedelta(days=3))
    assert "now in_force" in run(cli, who.alex, "approve", "1")
    listed = run(cli, who.aude, "list", "--status", "in_force")
    assert listed.split("\t")[:4] == ["1", "in_force", "ban", "publisher:ByteDance Ltd."]
    shown = json.loads(run(cli, who.aude, "show", "1"))
    assert [e["action"] for e in shown["timeline"]][-1] == "approve"
    assert "now rescinded" in run(cli, who.alex, "rescind", "1", "--note", "lifted")
    assert ok(get(env, who.aude, "/determinations/1"))["status"] == "rescinded"
    assert env.audit_ok().ok


def test_separation_of_duties_holds_on_the_command_line(env: Env, cli: CliRunner) -> None:
    who, catalog = actors(env), seed_catalog(env)
    body = json.dumps(draft_body(catalog))
    run(cli, who.ana, "create", "-", stdin=body)
    run(cli, who.ana, "propose", "1")
    promote(env, "ana", Role.approver)
    before = counts(env)
    refused = run(cli, who.ana, "approve", "1", "--interim", "--note", "urgent", code=1)
    assert "may not also approve_interim" in refused
    assert run(cli, who.aude, "reject", "1", "--note", "x", code=1).startswith(
        "appwarden: error: the auditor role may not decide"
    )
    assert counts(env) == before and stored_status(env, 1) == "proposed"
    assert "(interim)" in run(cli, who.alex, "approve", "1", "--interim", "--note", "urgent")


def test_bad_input_is_one_line_and_writes_nothing(env: Env, cli: CliRunner, tmp_path: Path) -> None:
    who, catalog = actors(env), seed_catalog(env)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(draft_body(catalog, scope=[])))
    assert "scope" in run(cli, who.ana, "create", str(bad), code=1)
    bad.write_text("{")
    assert "not JSON" in run(cli, who.ana, "create", str(bad), code=1)
    assert "no determination 7" in run(cli, who.ana, "propose", "7", code=1)
    assert "time zone" in run(
        cli, who.ana, "send-notice", "7", "--reply-deadline", "2027-01-01", code=1
    )
    assert "APPWARDEN_TOKEN" in run(cli, "", "list", code=1)
    assert counts(env)["determinations"] == 0


def test_expire_sweep(env: Env, cli: CliRunner, tmp_path: Path) -> None:
    who, catalog = actors(env), seed_catalog(env)
    from tests.decisions.support import reach

    number = reach(env, who, catalog, "expired")
    assert run(cli, "", "expire") == f"expired 1 determination(s): {number}\n"
    assert stored_status(env, number) == "expired"
    assert run(cli, "", "expire") == "expired 0 determination(s)\n"
