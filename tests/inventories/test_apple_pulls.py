"""The Apple leg of inventory pulls, against a fake MicroMDM and NanoMDM on a real socket
(tests/inventories/fake_apple_mdm.py), on both databases: a pull enqueues the
``InstalledApplicationList`` command for the server's devices, and the devices' answers,
posted to the webhook, are imported and judged as files are. Events that are not such
answers are ignored; bad ones, or ones without the webhook secret, import nothing."""

from __future__ import annotations

import json
import plistlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from appwarden.audit.models import AuditEvent
from appwarden.cli import acting
from appwarden.cli.main import app
from appwarden.errors import Invalid
from appwarden.inventories.pull.sources import load
from tests.decisions.support import ok, problem
from tests.inventories.fake_apple_mdm import (
    ENROLLMENT_ID,
    UDID,
    WEBHOOK_SECRET,
    FakeAppleMdm,
    answers,
    event,
    running,
    signature,
)
from tests.inventories.test_imports import MORNING, SCOPE, banned, compliance, rows
from tests.inventories.test_pulls import run_pull
from tests.server import Env, running_env

API = "/api/v1/inventories"
COMMAND = "InstalledApplicationList"


@pytest.fixture
def mdm() -> Iterator[FakeAppleMdm]:
    with running() as fake:
        yield fake


@pytest.fixture
def env(database_url: str, tmp_path: Path, mdm: FakeAppleMdm) -> Iterator[Env]:
    sources = mdm.sources(tmp_path, group=SCOPE, devices=f"# lab phones\n{ENROLLMENT_ID}\n\n")
    with running_env(
        database_url, tmp_path / "data", reconcile=False, inventory_sources=sources
    ) as running_app:
        yield running_app


def last_event(env: Env) -> AuditEvent:
    with env.session() as session:
        found = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert found is not None
    return found


def hook(
    env: Env,
    body: bytes,
    *,
    name: str = "micro",
    secret: str | None = WEBHOOK_SECRET,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    auth = ("micromdm", secret) if secret is not None else None
    return env.client.post(
        f"{API}/sources/{name}/webhook",
        content=body,
        auth=auth,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def test_micromdm_pull_enqueues_the_command_for_enrolled_devices(
    env: Env, mdm: FakeAppleMdm
) -> None:
    banned(env)
    before = rows(env)
    record = run_pull(env, "micro")
    assert (record.status, record.devices, record.calls) == ("ok", 1, 2), record.error
    # The list, then one command for the enrolled device; none for the DEP-only ones.
    assert mdm.calls == ["GET /micro/v1/devices", "POST /micro/v1/commands"]
    assert [(udid, kind) for udid, kind, _ in mdm.queued] == [(UDID, COMMAND)]
    # A pull only asks: nothing is imported until the answers come through the webhook.
    assert rows(env) == {**before, "audit": before["audit"] + 1}
    audited = last_event(env)
    assert (audited.action, audited.actor, audited.object_id) == (
        "inventory.pull_requested",
        "olu",
        "micro",
    )
    assert audited.after == {"pull": record.id, "commands": 1, "calls": 2}
    assert env.audit_ok().ok


def test_nanomdm_pull_asks_listed_and_known_devices(env: Env, mdm: FakeAppleMdm) -> None:
    banned(env)
    first = run_pull(env, "nano")
    assert (first.status, first.devices, first.calls) == ("ok", 1, 1), first.error
    assert [(i, k) for i, k, _ in mdm.queued] == [(ENROLLMENT_ID, COMMAND)]
    # Once a device's answer was imported, it is known: the next pull asks it too, in
    # the same enqueue call, under one command UUID.
    ok(hook(env, event(answers()[0])))
    mdm.queued.clear()
    second = run_pull(env, "nano")
    assert (second.status, second.devices, second.calls) == ("ok", 2, 1), second.error
    assert sorted(i for i, _, _ in mdm.queued) == sorted([ENROLLMENT_ID, UDID])
    assert len({u for _, _, u in mdm.queued}) == 1
    assert mdm.calls[-1] == f"PUT /nano/v1/enqueue/{ENROLLMENT_ID},{UDID}"


@pytest.mark.parametrize(
    ("name", "fault", "message"),
    [
        ("micro", "api-key", "MicroMDM: GET"),
        ("micro", "api-key-file", "cannot read the API key file"),
        ("nano", "api-key", "refused the credentials (401"),
        ("nano", "no-devices", "NanoMDM cannot list its devices and none is known"),
        ("nano", "bad-line", "line 2: 'not an id, really' is not an id"),
        ("nano", "not-queued", f"not queued for {ENROLLMENT_ID} (enrollment"),
    ],
)
def test_a_failed_pull_is_recorded_and_audited(
    env: Env, mdm: FakeAppleMdm, tmp_path: Path, name: str, fault: str, message: str
) -> None:
    banned(env)
    if fault == "api-key":
        (tmp_path / "mdm-api-key").write_text("not-the-key")
    elif fault == "api-key-file":
        (tmp_path / "mdm-api-key").unlink()
    elif fault == "no-devices":
        (tmp_path / "devices").write_text("# none yet\n")
    elif fault == "bad-line":
        (tmp_path / "devices").write_text(f"{ENROLLMENT_ID}\nnot an id, really\n")
    elif fault == "not-queued":
        mdm.unknown.add(ENROLLMENT_ID)
    before = rows(env)
    record = run_pull(env, name)
    assert record.status == "failed" and record.error is not None
    assert message in record.error, record.error
    assert "mdm-api-key-1" not in record.error
    assert rows(env) == {**before, "audit": before["audit"] + 1}
    audited = last_event(env)
    assert audited.action == "inventory.pull_failed" and audited.after is not None
    assert audited.after["pull"] == record.id
    assert mdm.queued == []


def test_an_answer_through_the_webhook_is_imported_and_judged(env: Env) -> None:
    who = banned(env)
    holder, other = answers()
    first = ok(hook(env, event(holder)))
    assert (first["imported"], first["created"], first["compliance"]) == (
        True,
        True,
        "non_compliant",  # TikTok, taken after the ban
    )
    assert first["reason"] == f"2 apps of {UDID}"
    device = ok(
        env.client.get(f"/api/v1/devices/{first['device_id']}", headers=env.headers(who.aude))
    )
    assert (device["source"], device["platform"], device["supervised"]) == (
        "apple-mdm",
        "ios",
        True,
    )
    assert set(compliance(env, who.aude, first["device_id"]).values()) == {"non_compliant"}
    imported = last_event(env)
    assert (imported.action, imported.actor) == ("inventory.import", "webhook:micro")
    # The user channel's answer names its device by EnrollmentID; Pages is allowed.
    second = ok(hook(env, event(other), name="nano"))
    assert (second["imported"], second["compliance"]) == (True, "compliant")
    assert last_event(env).actor == "webhook:nano"
    listed = ok(env.client.get("/api/v1/devices?source=apple-mdm", headers=env.headers(who.aude)))
    assert listed["total"] == 2
    with env.session() as session:
        members = session.scalars(select(AuditEvent.action)).all()
    assert members.count("inventory.import") == 2


def test_a_replayed_event_imports_nothing_new(env: Env) -> None:
    banned(env)
    body = event(answers()[0])
    first = ok(hook(env, body))
    before = rows(env)
    again = ok(hook(env, body))
    assert (again["imported"], again["created"], again["device_id"]) == (
        True,
        False,
        first["device_id"],
    )
    # The same inventory: no new device, report, app or membership (only its audit line).
    assert rows(env) == {**before, "audit": before["audit"] + 1}
    # An answer older than the one held is refused, naming both times.
    older = event(answers()[0], created_at=(MORNING - timedelta(hours=1)).isoformat())
    stale = problem(hook(env, older), 409)
    assert "older than the one held" in stale["detail"]
    assert rows(env) == {**before, "audit": before["audit"] + 1}


def test_the_webhook_needs_the_sources_secret(env: Env) -> None:
    banned(env)
    body = event(answers()[0])
    before = rows(env)
    assert problem(hook(env, body, secret=None), 401)["detail"].startswith("send the source")
    problem(hook(env, body, secret="hook-secret-"), 401)
    problem(hook(env, body, secret=None, headers={"X-Hmac-Signature": signature(body, "x")}), 401)
    problem(hook(env, body, secret=None, headers={"Authorization": "Basic !!!"}), 401)
    problem(
        hook(env, body, secret=None, headers={"Authorization": "Bearer " + WEBHOOK_SECRET}), 401
    )
    assert rows(env) == before  # nothing imported, nothing but refusals audited
    with env.session() as session:
        refusals = list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == "inventory.webhook.refused")
            )
        )
    # Aggregated per address: the first is written, the next ones counted.
    assert len(refusals) == 1 and refusals[0].object_id == "micro"
    assert refusals[0].after is not None and refusals[0].after["reason"] == "no webhook credentials"
    # The body's HMAC with the secret, without Basic, is accepted too.
    signed = hook(
        env, body, secret=None, headers={"X-Hmac-Signature": signature(body, WEBHOOK_SECRET)}
    )
    assert ok(signed)["imported"] is True
    # An unknown source, or one that is not an Apple MDM, is a 404 naming no other source.
    missing = problem(hook(env, body, name="nope"), 404)
    assert "micro" not in missing["detail"] and "nano" not in missing["detail"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            json.dumps({"topic": "mdm.Authenticate", "checkin_event": {"udid": UDID}}).encode(),
            "topic 'mdm.Authenticate' carries no command's answer",
        ),
        (event(answers()[0], status="Idle"), "status 'Idle': no answer to import"),
        (event(answers()[0], status="Error"), "status 'Error': no answer to import"),
        (
            event({"UDID": UDID, "Status": "Acknowledged", "CommandUUID": "c", "ProfileList": []}),
            "the answer is not to InstalledApplicationList",
        ),
        (json.dumps({"topic": "mdm.Connect"}).encode(), "mdm.Connect without acknowledge_event"),
    ],
)
def test_other_events_are_ignored(env: Env, body: bytes, reason: str) -> None:
    banned(env)
    before = rows(env)
    answer = ok(hook(env, body))
    assert answer == {
        "imported": False,
        "reason": reason,
        "device_id": None,
        "created": None,
        "compliance": None,
    }
    assert rows(env) == before


def _bad_base64() -> bytes:
    body = json.loads(event(answers()[0]))
    body["acknowledge_event"]["raw_payload"] = "not base64!"
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"<html>", 422, "the webhook event is not JSON"),
        (b"[1, 2]", 422, "the webhook event is not a JSON object"),
        (_bad_base64(), 422, "raw_payload is not base64"),
        (event(b"not a property list"), 422, "raw_payload is not a property list"),
        (event(plistlib.dumps(answers())), 422, "raw_payload is not a command's answer"),
        (event(None), 422, "raw_payload must be the answer in base64"),
        (
            event({**answers()[0], "InstalledApplicationList": [{"Identifier": "bad id!"}]}),
            422,
            "Identifier",
        ),
        (event(answers()[0], created_at="yesterday"), 422, "is not an RFC 3339 time"),
        (event(answers()[0], created_at="2031-01-01T00:00:00Z"), 422, "in the future"),
        (event({**answers()[0], "Padding": "x" * 5000}), 413, "larger than 4000 bytes"),
        (b"{" + b" " * 80_000 + b"}", 413, "the request body is larger than"),
    ],
)
def test_bad_events_import_nothing(env: Env, body: bytes, status: int, message: str) -> None:
    banned(env)
    env.settings.inventory_max_bytes = 4000
    before = rows(env)
    refused = problem(hook(env, body), status)
    assert message in refused["detail"], refused["detail"]
    assert rows(env) == before


def test_the_api_lists_and_pulls_apple_sources(env: Env, mdm: FakeAppleMdm) -> None:
    who = banned(env)
    listed = ok(env.client.get(f"{API}/sources", headers=env.headers(who.aude)))
    assert [(s["name"], s["kind"]) for s in listed] == [
        ("micro", "apple-mdm"),
        ("nano", "apple-mdm"),
    ]
    assert WEBHOOK_SECRET not in json.dumps(listed)
    answer = env.client.post(f"{API}/sources/micro/pulls", headers=env.headers(who.olu))
    assert answer.status_code == 202, answer.text
    done = ok(env.client.get(answer.headers["Location"], headers=env.headers(who.aude)))
    assert (done["status"], done["devices"], done["created"]) == ("ok", 1, 0)
    assert len(mdm.queued) == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("", "flavor"),
        ("flavor = 'jamf'\n", "flavor"),
        ("flavor = 'nanomdm'\nsecret = 'inline'\n", "Extra inputs are not permitted"),
        ("flavor = 'nanomdm'\nserver = 'not a url'\n", "server"),
    ],
)
def test_bad_apple_sources_are_refused(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    text = (
        "[[source]]\nname = 'a'\nkind = 'apple-mdm'\n"
        "api_key_file = 'k'\nwebhook_secret_file = 'w'\n"
    )
    if "server" not in extra:
        text += "server = 'https://mdm.example'\n"
    path.write_text(text + extra)
    with pytest.raises(Invalid) as refused:
        load(path)
    assert message in refused.value.detail


def test_cli_says_a_pull_asked_the_devices(
    env: Env, mdm: FakeAppleMdm, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = banned(env)
    monkeypatch.setenv("APPWARDEN_DATABASE_URL", env.settings.database)
    monkeypatch.setenv("APPWARDEN_AUDIT_KEY", "test-audit-key")
    monkeypatch.setenv("APPWARDEN_INVENTORY_SOURCES", str(env.settings.inventory_sources))
    monkeypatch.setattr(acting, "SystemClock", lambda: env.clock)
    result = CliRunner().invoke(
        app, ["inventory", "pull", "micro"], env={"APPWARDEN_TOKEN": who.olu}
    )
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "micro: asked" in result.stdout
    assert "1 devices for their apps (the answers arrive through the webhook)" in result.stdout
    assert len(mdm.queued) == 1


def test_an_unreadable_webhook_secret_is_the_operators_to_fix(env: Env, tmp_path: Path) -> None:
    banned(env)
    (tmp_path / "webhook-secret").unlink()
    before = rows(env)
    refused = problem(hook(env, event(answers()[0])), 503)
    assert refused["detail"] == "the webhook secret of micro cannot be read"  # no path shown
    assert rows(env) == before
