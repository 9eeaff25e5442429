"""``appwarden groups`` and ``appwarden devices``: the same services, roles and audit."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from appwarden.auth.roles import Role
from appwarden.cli.main import app
from tests.fleet.helpers import counts, enroll
from tests.server import Env

runner = CliRunner()


@pytest.fixture
def cli_env(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("APPWARDEN_DATABASE_URL", env.settings.database)
    monkeypatch.setenv("APPWARDEN_DATA_DIR", str(env.settings.data_dir))
    monkeypatch.setenv("APPWARDEN_AUDIT_KEY", "test-audit-key")
    monkeypatch.delenv("APPWARDEN_TOKEN", raising=False)
    return env


def run(*args: str, token: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"APPWARDEN_TOKEN": token})
    return result.exit_code, result.stdout, result.stderr


def test_groups_tokens_and_devices(cli_env: Env) -> None:
    ops = cli_env.user("ops", Role.operator)
    code, out, err = run("groups", "create", "Staff", token=ops)
    assert (code, out.strip()) == (0, "created group 1: Staff"), err
    code, out, err = run("groups", "create", "iOS", "--platform", "ios", "--supervised", token=ops)
    assert code == 0, err
    code, out, err = run("groups", "token", "1", "--uses", "2", token=ops)
    assert code == 0 and out.startswith("aw_enroll_"), err
    device_id = enroll(cli_env, out.strip(), platform="ios", supervised=True)
    code, out, _err = run("groups", "list", "--json", token=ops)
    assert [(g["name"], g["rule"]) for g in json.loads(out)] == [
        ("Staff", None),
        ("iOS", {"platform": ["ios"], "supervised": True}),
    ]
    code, out, _err = run("devices", "show", device_id, token=ops)
    assert json.loads(out)["groups"] == ["Staff", "iOS"]
    code, out, _err = run("devices", "list", "--group", "2", token=ops)
    assert out.startswith(device_id)
    code, out, err = run("devices", "lost", device_id, token=ops)
    assert code == 0 and "reported lost (state lost)" in out, err
    code, out, err = run("groups", "revoke-token", "1", token=ops)
    assert (code, out.strip()) == (0, "enrollment token 1: revoked after 1 use(s)"), err
    code, _out, err = run("groups", "revoke-token", "1", token=ops)
    assert code == 1 and "already revoked" in err
    assert cli_env.audit_ok().ok


def test_refusals_are_one_line_and_change_nothing(cli_env: Env) -> None:
    analyst = cli_env.user("ana", Role.analyst)
    ops = cli_env.user("ops", Role.operator)
    before = counts(cli_env)
    code, _out, err = run("groups", "create", "Mine", token=analyst)
    assert code == 1 and err.strip() == "appwarden: error: the analyst role may not fleet"
    code, _out, err = run("groups", "create", "*", token=ops)
    assert code == 1 and '"*" means every device' in err
    code, _out, err = run("groups", "create", "x", "--platform", "windows", token=ops)
    assert code == 1 and "rule platform" in err
    code, _out, err = run("devices", "retire", "dev_nope", token=ops)
    assert code == 1 and "no device dev_nope" in err
    assert counts(cli_env) == before
