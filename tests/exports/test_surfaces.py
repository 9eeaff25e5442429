"""Exports through the API and the command line, from determinations in force."""

from __future__ import annotations

import json
import plistlib
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from appwarden.catalog.models import Assessment
from appwarden.cli import acting
from appwarden.cli.main import app
from tests.compliance.support import APP_TARGET, TIKTOK, group_id
from tests.decisions.support import Actors, actors, get, problem, reach, seed_catalog
from tests.exports.reference.schema import validate
from tests.exports.support import certificate_pair
from tests.server import Env

SCOPE = "government-issued"


def _in_force(env: Env) -> Actors:
    """TikTok banned in force for the group; vetting found two endpoints, one a tracker's."""
    who, catalog = actors(env), seed_catalog(env)
    group_id(env, who, SCOPE)
    group_id(env, who, "Staff")
    with env.session() as session, session.begin():
        document = session.get(Assessment, catalog.second_assessment)
        assert document is not None
        changed = dict(document.document)
        changed["network"] = {"domains": ["api16.tiktokv.com", "ads.pangle.io"], "urls": []}
        changed["trackers"] = [{"name": "Pangle", "evidence": {"domains": ["ads.pangle.io"]}}]
        session.execute(
            update(Assessment)
            .where(Assessment.id == catalog.second_assessment)
            .values(document=changed)
        )
    reach(env, who, catalog, "in_force", target=APP_TARGET)
    return who


def test_api_exports_for_a_group(env: Env) -> None:
    who = _in_force(env)
    response = get(env, who.aude, f"/exports/mobileconfig?scope={SCOPE}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-apple-aspen-config"
    assert "attachment" in response.headers["content-disposition"]
    profile = plistlib.loads(response.content)
    assert validate(profile, "apple_applicationaccess.json") == []
    assert profile["PayloadContent"][0]["blockedAppBundleIDs"] == [TIKTOK]
    assert json.loads(response.headers["appwarden-warnings"]) == []
    amapi = get(env, who.olu, f"/exports/amapi?scope={SCOPE}")
    assert json.loads(amapi.content)["applications"][0]["packageName"] == TIKTOK
    domains = get(env, who.aude, f"/exports/domains?scope={SCOPE}").text.split()
    assert domains == ["api16.tiktokv.com"]  # the tracker's endpoint is not the app's
    other = get(env, who.aude, "/exports/amapi?scope=Staff")
    assert json.loads(other.content)["applications"] == []


def test_api_refuses_bad_input_and_anonymous_callers(env: Env) -> None:
    who = _in_force(env)
    assert (
        "mobileconfig" in problem(get(env, who.aude, f"/exports/pdf?scope={SCOPE}"), 422)["detail"]
    )
    assert "nowhere" in problem(get(env, who.aude, "/exports/rpz?scope=nowhere"), 404)["detail"]
    problem(get(env, who.aude, "/exports/rpz"), 422)
    anonymous = env.client.get(f"/api/v1/exports/rpz?scope={SCOPE}")
    assert anonymous.status_code == 401


@pytest.fixture
def cli(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("APPWARDEN_DATABASE_URL", env.settings.database)
    monkeypatch.setenv("APPWARDEN_AUDIT_KEY", "test-audit-key")
    monkeypatch.setattr(acting, "SystemClock", lambda: env.clock)
    return env


def test_cli_writes_a_signed_profile(cli: Env, tmp_path: Path) -> None:
    who = _in_force(cli)
    cert, key = certificate_pair()
    (tmp_path / "c.pem").write_bytes(cert)
    (tmp_path / "k.pem").write_bytes(key)
    out = tmp_path / "gov.mobileconfig"
    args = ["export", "mobileconfig", "--scope", SCOPE, "--out", str(out)]
    signing = ["--sign-cert", str(tmp_path / "c.pem"), "--sign-key", str(tmp_path / "k.pem")]
    result = CliRunner().invoke(app, args + signing, env={"APPWARDEN_TOKEN": who.aude})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    signed = out.read_bytes()
    assert signed.startswith(b"\x30") and TIKTOK.encode() in signed  # DER CMS, embedded
    to_stdout = CliRunner().invoke(app, ["export", "rpz", "--scope", SCOPE],
                                   env={"APPWARDEN_TOKEN": who.aude})  # fmt: skip
    assert to_stdout.exit_code == 0 and "api16.tiktokv.com CNAME ." in to_stdout.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["export", "pdf", "--scope", SCOPE], "unknown export kind"),
        (["export", "rpz", "--scope", "nowhere"], "no device group named 'nowhere'"),
        (["export", "mobileconfig", "--scope", SCOPE, "--sign-cert", "CERT"], "both"),
        (["export", "mobileconfig", "--scope", SCOPE, "--sign-cert", "BAD", "--sign-key", "KEY"],
         "not a PEM X.509 certificate"),
        (["export", "rpz", "--scope", SCOPE, "--sign-cert", "CERT", "--sign-key", "KEY"],
         "only a mobileconfig"),
    ],
)  # fmt: skip
def test_cli_bad_input_writes_nothing(
    cli: Env, tmp_path: Path, extra: list[str], message: str
) -> None:
    who = _in_force(cli)
    cert, key = certificate_pair()
    paths = {"CERT": cert, "KEY": key, "BAD": b"not a certificate"}
    for name, content in paths.items():
        (tmp_path / name).write_bytes(content)
    args = [str(tmp_path / a) if a in paths else a for a in extra]
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [*args, "--out", str(out)], env={"APPWARDEN_TOKEN": who.aude})
    assert result.exit_code == 1
    assert message in result.stderr
    assert not out.exists()
