"""`appwarden db upgrade`, `users create`, `login`, `audit verify/export` as a user runs them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from appwarden.cli.main import app

runner = CliRunner()
PASSWORD = "correct horse battery staple"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APPWARDEN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("APPWARDEN_DATABASE_URL", raising=False)
    monkeypatch.delenv("APPWARDEN_TOKEN", raising=False)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "revision 0" in result.stdout
    return tmp_path


def _create(args: list[str], token: str | None = None) -> object:
    env = {"APPWARDEN_TOKEN": token} if token else {}
    return runner.invoke(
        app, ["users", "create", *args, "--password-stdin"], input=PASSWORD + "\n", env=env
    )


def test_first_user_is_an_admin_then_tokens_are_needed(data_dir: Path) -> None:
    not_admin = _create(["ana", "--role", "analyst"])
    assert not_admin.exit_code == 1 and "first user must be an admin" in not_admin.stderr  # type: ignore[attr-defined]
    admin = _create(["root", "--role", "admin"])
    assert admin.exit_code == 0 and "TOTP secret" in admin.stdout  # type: ignore[attr-defined]
    without_token = _create(["ana", "--role", "analyst"])
    assert without_token.exit_code == 1 and "APPWARDEN_TOKEN" in without_token.stderr  # type: ignore[attr-defined]


def test_login_then_act_with_the_token(data_dir: Path) -> None:
    from appwarden.auth import service
    from appwarden.clock import SystemClock

    admin = _create(["root", "--role", "admin"])
    secret = admin.stdout.rsplit(" ", 1)[-1].strip()  # type: ignore[attr-defined]
    code = service.totp_now(secret, SystemClock())
    login = runner.invoke(
        app, ["login", "root", "--totp", code, "--password-stdin"], input=PASSWORD + "\n"
    )
    assert login.exit_code == 0, login.output
    token = login.stdout.strip()
    assert token.startswith("aw_")
    analyst = _create(["ana", "--role", "analyst"], token=token)
    assert analyst.exit_code == 0, analyst.output  # type: ignore[attr-defined]
    analyst_login = runner.invoke(app, ["login", "ana", "--password-stdin"], input=PASSWORD + "\n")
    analyst_token = analyst_login.stdout.strip()
    denied = _create(["eve", "--role", "auditor"], token=analyst_token)
    assert denied.exit_code == 1 and "may not admin" in denied.stderr  # type: ignore[attr-defined]


def test_wrong_password_on_the_cli_is_counted(data_dir: Path) -> None:
    _create(["root", "--role", "admin"])
    for _ in range(5):
        bad = runner.invoke(app, ["login", "root", "--password-stdin"], input="wrong\n")
        assert bad.exit_code == 1
    limited = runner.invoke(app, ["login", "root", "--password-stdin"], input=PASSWORD + "\n")
    assert limited.exit_code == 1 and "too many failed sign-ins" in limited.stderr


def test_audit_verify_and_export_name_the_tampered_event(data_dir: Path) -> None:
    _create(["root", "--role", "admin"])
    for name in ("a", "b", "c"):
        runner.invoke(app, ["login", "root", "--password-stdin"], input=f"{name}\n")  # failures
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "head: seq 1" in ok.stdout and "chain intact" in ok.stdout
    exported = runner.invoke(app, ["audit", "export"])
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [e["action"] for e in lines] == ["user.create"]
    assert "head: seq 1" in exported.stderr
    with sqlite3.connect(data_dir / "appwarden.db") as connection:
        connection.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1")
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "audit event 1 fails" in bad.stderr
