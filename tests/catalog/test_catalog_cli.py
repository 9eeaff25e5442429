"""``appwarden apps`` and ``appwarden publishers``: the same services, roles and audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from appwarden.auth.roles import Role
from appwarden.cli.main import app
from tests.catalog.helpers import API, URZIP, counts, fixture_app, stored_files
from tests.server import Env

runner = CliRunner()


@pytest.fixture
def cli_env(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    """Point the CLI at the test server's database, data folder and audit key."""
    monkeypatch.setenv("APPWARDEN_DATABASE_URL", env.settings.database)
    monkeypatch.setenv("APPWARDEN_DATA_DIR", str(env.settings.data_dir))
    monkeypatch.setenv("APPWARDEN_AUDIT_KEY", "test-audit-key")
    monkeypatch.delenv("APPWARDEN_TOKEN", raising=False)
    return env


def run(*args: str, token: str | None = None) -> tuple[int, str, str]:
    environment = {"APPWARDEN_TOKEN": token} if token else {}
    result = runner.invoke(app, list(args), env=environment)
    return result.exit_code, result.stdout, result.stderr


def test_publishers_create_and_list(cli_env: Env) -> None:
    token = cli_env.user("ana", Role.analyst)
    code, out, err = run(
        "publishers",
        "create",
        "ByteDance",
        "--jurisdiction",
        "cn",
        "--domain",
        "bytedance.com",
        "--domain",
        "TikTok.com",
        token=token,
    )
    assert code == 0, err
    assert out.startswith("created publisher 1: ByteDance (CN)")
    code, out, err = run(
        "publishers", "create", "TikTok", "--jurisdiction", "SG", "--parent", "1", token=token
    )
    assert code == 0, err
    code, out, _err = run("publishers", "list", "--json", token=token)
    listed = json.loads(out)
    assert [(p["name"], p["parent_id"]) for p in listed] == [("ByteDance", None), ("TikTok", 1)]
    assert listed[0]["domains"] == ["bytedance.com", "tiktok.com"]
    code, out, _err = run("publishers", "list", "--q", "tiktok.com", token=token)
    assert code == 0 and out.startswith("1\tByteDance\tCN")
    assert cli_env.audit_ok().ok


def test_publishers_refusals(cli_env: Env) -> None:
    code, _out, err = run("publishers", "create", "X", "--jurisdiction", "CN")
    assert code == 1 and "APPWARDEN_TOKEN" in err
    auditor = cli_env.user("aud", Role.auditor)
    code, _out, err = run("publishers", "create", "X", "--jurisdiction", "CN", token=auditor)
    assert code == 1 and "may not vet" in err
    analyst = cli_env.user("ana", Role.analyst)
    code, _out, err = run("publishers", "create", "X", "--jurisdiction", "ZZ", token=analyst)
    assert code == 1 and "ISO 3166-1" in err
    assert counts(cli_env)["publishers"] == 0


def test_apps_add_stores_like_the_api(cli_env: Env) -> None:
    token = cli_env.user("ana", Role.analyst)
    path = str(fixture_app(URZIP))
    code, out, err = run("apps", "add", path, token=token)
    assert code == 0, err
    assert "info.guardianproject.urzip (android, new)" in out and "stored)" in out
    code, out, err = run("apps", "add", path, "--json", token=token)
    assert code == 0, err
    body = json.loads(out)
    assert body["blob_new"] is False and body["app_created"] is False
    assert len(stored_files(cli_env.settings)) == 1
    rows = counts(cli_env)
    assert rows["assessments"] == 2 and rows["apps"] == 1 and rows["blobs"] == 1
    app_view = cli_env.client.get(
        f"{API}/apps/{body['app']['id']}", headers=cli_env.headers(token)
    ).json()
    assert app_view["latest_assessment"]["id"] == body["assessment"]["id"]
    code, out, _err = run("apps", "list", token=token)
    assert out.split("\t")[2] == "info.guardianproject.urzip"
    assert cli_env.audit_ok().ok


def test_apps_add_refusals_leave_nothing(cli_env: Env, tmp_path: Path) -> None:
    token = cli_env.user("ana", Role.analyst)
    before = counts(cli_env)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    fake = tmp_path / "fake.apk"
    fake.write_bytes(b"not a zip" * 50)
    data = fixture_app(URZIP).read_bytes()
    truncated = tmp_path / "cut.apk"
    truncated.write_bytes(data[: len(data) // 2])
    for path, words in ((text, "not an app file"), (fake, "fake.apk"), (truncated, "cut.apk")):
        code, _out, err = run("apps", "add", str(path), token=token)
        assert code == 1 and words in err, err
    code, _out, err = run("apps", "add", str(fixture_app(URZIP)), "--publisher", "7", token=token)
    assert code == 1 and "no publisher 7" in err
    reader = cli_env.user("aud", Role.auditor)
    code, _out, err = run("apps", "add", str(fixture_app(URZIP)), token=reader)
    assert code == 1 and "may not vet" in err
    assert counts(cli_env)["apps"] == before["apps"] == 0
    assert counts(cli_env)["assessments"] == counts(cli_env)["blobs"] == 0
    assert stored_files(cli_env.settings) == []


def test_apps_add_respects_the_upload_limit(cli_env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    token = cli_env.user("ana", Role.analyst)
    monkeypatch.setenv("APPWARDEN_UPLOAD_MAX_BYTES", "1000")
    code, _out, err = run("apps", "add", str(fixture_app(URZIP)), token=token)
    assert code == 1 and "upload limit of 1000 bytes" in err
    assert counts(cli_env)["blobs"] == 0 and stored_files(cli_env.settings) == []
