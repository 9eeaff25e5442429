"""``appwarden waivers``: the same rules as the API, as a signed-in user."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from appwarden.cli import acting
from appwarden.cli.main import app
from tests.decisions.support import actors, counts, reach, seed_catalog
from tests.server import Env
from tests.waivers.test_waivers_api import waiver_body


@pytest.fixture
def cli(env: Env, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("APPWARDEN_DATABASE_URL", env.settings.database)
    monkeypatch.setenv("APPWARDEN_AUDIT_KEY", "test-audit-key")
    monkeypatch.setattr(acting, "SystemClock", lambda: env.clock)
    return CliRunner()


def run(cli: CliRunner, token: str, *args: str, code: int = 0, stdin: str | None = None) -> str:
    result = cli.invoke(app, ["waivers", *args], env={"APPWARDEN_TOKEN": token}, input=stdin)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout if code == 0 else result.stderr


def test_request_approve_list_revoke(env: Env, cli: CliRunner) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force")
    body = json.dumps(waiver_body(env))
    assert "requested waiver 1" in run(cli, who.olu, "request", str(number), "-", stdin=body)
    refused = run(cli, who.aude, "approve", "1", code=1)
    assert refused.startswith("appwarden: error: the auditor role may not approve_waiver")
    assert run(cli, who.alex, "approve", "1") == "waiver 1: approved\n"
    listed = [json.loads(line) for line in run(cli, who.aude, "list").splitlines()]
    assert [(w["id"], w["state"]) for w in listed] == [(1, "active")]
    assert (
        run(cli, who.alex, "revoke", "1", "--note", "investigation over") == "waiver 1: revoked\n"
    )
    assert env.audit_ok().ok


def test_bad_requests_write_nothing(env: Env, cli: CliRunner) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force")
    before = counts(env)
    blanket = json.dumps(waiver_body(env, devices=[], users=[]))
    assert "never covers" in run(cli, who.olu, "request", str(number), "-", stdin=blanket, code=1)
    assert "not JSON" in run(cli, who.olu, "request", str(number), "-", stdin="{", code=1)
    unknown = run(cli, who.olu, "request", "999", "-", stdin=json.dumps(waiver_body(env)), code=1)
    assert unknown.startswith("appwarden: error:")
    assert counts(env) == before
