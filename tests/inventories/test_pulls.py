"""Pulling inventories through the MDMs' APIs, against a fake Microsoft Graph and Android
Management API on a real socket (tests/inventories/fake_mdm.py), on both databases: the
pulled documents are imported exactly as files are, and every failure — bad credentials,
throttling, a page loop, a link off the API's host, an oversized or malformed answer, a bad
device — imports nothing and is recorded and audited."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from appwarden.audit.models import AuditEvent
from appwarden.auth.roles import Role
from appwarden.cli import acting
from appwarden.cli.main import app
from appwarden.errors import Conflict, Invalid
from appwarden.inventories.models import InventoryPull
from appwarden.inventories.pull.runner import Pulling, begin, pull, source_named
from appwarden.inventories.pull.schedule import Schedule
from appwarden.inventories.pull.sources import load
from tests.decisions.support import ok, problem
from tests.inventories.fake_mdm import FakeMdm, running
from tests.inventories.test_imports import SCOPE, banned, compliance, rows
from tests.server import Env, running_env

API = "/api/v1/inventories"


@pytest.fixture
def mdm() -> Iterator[FakeMdm]:
    with running() as fake:
        yield fake


@pytest.fixture
def env(database_url: str, tmp_path: Path, mdm: FakeMdm) -> Iterator[Env]:
    sources = mdm.sources(tmp_path, group=SCOPE)
    with running_env(
        database_url, tmp_path / "data", reconcile=False, inventory_sources=sources
    ) as running_app:
        yield running_app


def pulling(env: Env, waits: list[float] | None = None) -> Pulling:
    context = env.client.app.state.context  # type: ignore[attr-defined]
    sleep = waits.append if waits is not None else None
    return Pulling(context.sessions, env.clock, env.settings, context.audit_key, sleep=sleep)


def run_pull(env: Env, name: str, waits: list[float] | None = None) -> InventoryPull:
    source = source_named(env.settings, name)
    return pull(pulling(env, waits), source, actor="olu")


def failed_with(env: Env, name: str, message: str) -> InventoryPull:
    """The pull of ``name`` failed, saying ``message``, imported nothing, and was audited."""
    before = rows(env)
    record = run_pull(env, name)
    assert record.status == "failed", record.error
    assert record.error is not None and message in record.error, record.error
    assert rows(env) == {**before, "audit": before["audit"] + 1}
    with env.session() as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert last is not None and last.action == "inventory.pull_failed"
    assert last.after is not None and last.after["pull"] == record.id
    assert env.audit_ok().ok
    return record


def test_intune_pull_follows_pages_and_imports_like_a_file(env: Env, mdm: FakeMdm) -> None:
    who = banned(env)
    record = run_pull(env, "intune")
    assert (record.status, record.devices, record.created, record.skipped) == ("ok", 2, 2, 1)
    # A token, three pages of one device, and the detected apps of the two phones only.
    assert [c.split(" ")[1].rsplit("/", 1)[-1] for c in mdm.calls] == [
        "token", "managedDevices", "managedDevices", "managedDevices",
        "5e1a8b1c-4f0e-4a61-9b7d-2c0f9d1e7a01", "5e1a8b1c-4f0e-4a61-9b7d-2c0f9d1e7a02",
    ]  # fmt: skip
    assert record.calls == len(mdm.calls) == 6
    devices = ok(env.client.get("/api/v1/devices?source=intune", headers=env.headers(who.aude)))
    assert devices["total"] == 2
    statuses = sorted(
        status for d in devices["items"] for status in compliance(env, who.aude, d["id"]).values()
    )
    assert statuses == ["compliant", "non_compliant"]  # TikTok on the Pixel, as imported
    with env.session() as session:
        imported = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "inventory.import")
        ).one()
    assert imported.actor == "olu" and imported.after is not None
    assert imported.after["sha256"] == record.sha256
    # Pulled again, the same devices are updated, never created twice.
    again = run_pull(env, "intune")
    assert (again.status, again.created, again.devices) == ("ok", 0, 2)


def test_amapi_pull_signs_a_service_account_assertion(env: Env, mdm: FakeMdm) -> None:
    banned(env)
    record = run_pull(env, "android")
    assert (record.status, record.devices, record.created, record.skipped) == ("ok", 2, 2, 1)
    # The fake verified the JWT's RS256 signature, audience, issuer and scope.
    assert mdm.calls[0] == "POST /google/token"
    assert len([c for c in mdm.calls if c.endswith("/devices")]) == 3  # pages of one
    assert len(mdm.tokens) == 1


def test_throttling_is_waited_out_as_asked(env: Env, mdm: FakeMdm) -> None:
    banned(env)
    mdm.queued["/graph/beta/deviceManagement/managedDevices"] = [
        (429, {"Retry-After": "7"}, b'{"error": {"message": "slow down"}}'),
        (503, {"Retry-After": "2"}, b""),
    ]
    waits: list[float] = []
    record = run_pull(env, "intune", waits)
    assert record.status == "ok" and waits == [7.0, 2.0]


@pytest.mark.parametrize(
    ("name", "fault", "message"),
    [
        ("intune", "secret", "refused the credentials (401: AADSTS7000215: bad secret)"),
        ("intune", "secret-file", "cannot read the client secret file"),
        ("intune", "long-throttle", "throttled, asked to wait 3600 s"),
        ("intune", "foreign-link", "@odata.nextLink leaves the Graph endpoint"),
        ("intune", "link-loop", "the device pages loop"),
        ("intune", "not-json", "the answer is not JSON"),
        ("intune", "huge", "the answer is larger than 2000 bytes"),
        ("intune", "no-apps", "came without detectedApps"),
        ("intune", "server-error", "answered 500 (Internal failure)"),
        ("android", "bad-package", "applicationReports[0]"),
        ("android", "token-loop", "the device pages loop"),
        ("android", "wrong-key", "answered 400 (Could not verify token signature"),
        ("android", "key-not-json", "is not JSON"),
        ("android", "expired-token", "refused the credentials (401: Request had invalid"),
    ],
)
def test_every_failure_imports_nothing_and_is_audited(
    env: Env, mdm: FakeMdm, tmp_path: Path, name: str, fault: str, message: str
) -> None:
    graph = "/graph/beta/deviceManagement/managedDevices"
    if fault == "secret":
        mdm.client_secret(tmp_path, "not-the-secret")
    elif fault == "secret-file":
        (tmp_path / "client-secret").unlink()
    elif fault == "long-throttle":
        mdm.queued[graph] = [(429, {"Retry-After": "3600"}, b"")]
    elif fault == "foreign-link":
        mdm.next_link = "https://attacker.example/graph/beta/deviceManagement/managedDevices"
    elif fault == "link-loop":
        mdm.next_link = f"{mdm.url}{graph}?$skiptoken=0"
    elif fault == "not-json":
        mdm.queued[graph] = [(200, {"Content-Type": "text/html"}, b"<html>sign in</html>")]
    elif fault == "huge":
        env.settings.inventory_pull_max_bytes = 2000
        mdm.queued[graph] = [(200, {}, b'{"value": [' + b" " * 5000 + b"]}")]
    elif fault == "no-apps":
        mdm.queued[f"{graph}/5e1a"] = [(200, {}, b'{"id": "5e1a8b1c"}')]
    elif fault == "server-error":
        mdm.queued[graph] = [(500, {}, b'{"error": {"code": "x", "message": "Internal failure"}}')]
    elif fault == "bad-package":
        mdm.amapi[0]["applicationReports"][0]["packageName"] = "not a package!"
    elif fault == "token-loop":
        mdm.page_token = "1"
    elif fault == "wrong-key":
        other = FakeMdm(url=mdm.url)  # another key, the same token endpoint
        other.service_account(tmp_path)
    elif fault == "key-not-json":
        (tmp_path / "service-account.json").write_text("-----BEGIN PRIVATE KEY-----")
    elif fault == "expired-token":
        mdm.queued["/amapi/"] = [
            (401, {}, b'{"error": {"code": 401, "message": "Request had invalid credentials."}}')
        ]
    failed_with(env, name, message)
    # The fault gone, the next pull succeeds (nothing was left half-done).
    if fault in ("foreign-link", "link-loop", "bad-package", "token-loop"):
        mdm.next_link = mdm.page_token = None
        mdm.amapi = FakeMdm().amapi
        banned(env)  # the group the source names, and the samples' morning
        assert run_pull(env, name).status == "ok"


def test_an_unreachable_mdm_fails_after_bounded_retries(env: Env, mdm: FakeMdm) -> None:
    banned(env)
    mdm_url = mdm.url
    mdm.url = "http://127.0.0.1:9"  # discard port: nothing listens
    path = Path(str(env.settings.inventory_sources))
    path.write_text(path.read_text().replace(f"{mdm_url}/entra", f"{mdm.url}/entra"))
    waits: list[float] = []
    before = rows(env)
    record = run_pull(env, "intune", waits)
    assert record.status == "failed" and record.error is not None
    assert "cannot reach it" in record.error
    assert waits == [1.0, 2.0, 4.0, 8.0]  # four retries, backing off, then it gives up
    assert rows(env)["devices"] == before["devices"]


def test_scheduled_pulls_take_each_period_once(env: Env, tmp_path: Path, mdm: FakeMdm) -> None:
    banned(env)
    sources = mdm.sources(tmp_path, every_minutes=60)
    env.settings.inventory_sources = sources
    # Three server processes' schedules, ticking at the same moment.
    schedules = [Schedule(pulling(env)) for _ in range(3)]

    async def tick_all() -> None:
        await asyncio.gather(*(s.tick() for s in schedules))

    asyncio.run(tick_all())
    env.clock.advance(timedelta(minutes=10))
    asyncio.run(tick_all())  # the same period: nothing more
    env.clock.advance(timedelta(minutes=60))
    asyncio.run(tick_all())  # the next period: one more of each
    with env.session() as session:
        pulls = list(session.scalars(select(InventoryPull).order_by(InventoryPull.started_at)))
    by_source: dict[str, list[int | None]] = {}
    for one in pulls:
        by_source.setdefault(one.source, []).append(one.slot)
        assert one.status == "ok" and one.requested_by == f"schedule:{one.source}"
    assert {k: len(set(v)) == len(v) == 2 for k, v in by_source.items()} == {
        "intune": True,
        "android": True,
    }


def test_api_lists_sources_and_pulls_on_demand(env: Env, mdm: FakeMdm) -> None:
    who = banned(env)
    listed = ok(env.client.get(f"{API}/sources", headers=env.headers(who.aude)))
    assert [(s["name"], s["kind"], s["last_pull"]) for s in listed] == [
        ("intune", "intune", None),
        ("android", "amapi", None),
    ]
    assert "secret" not in json.dumps(listed)
    answer = env.client.post(f"{API}/sources/intune/pulls", headers=env.headers(who.olu))
    assert answer.status_code == 202, answer.text
    location = answer.headers["Location"]
    assert answer.json()["status"] == "running"  # the pull runs after the answer
    done = ok(env.client.get(location, headers=env.headers(who.aude)))
    assert (done["status"], done["devices"], done["requested_by"]) == ("ok", 2, "olu")
    history = ok(env.client.get(f"{API}/sources/intune/pulls", headers=env.headers(who.aude)))
    assert [h["id"] for h in history] == [done["id"]]
    listed = ok(env.client.get(f"{API}/sources", headers=env.headers(who.aude)))
    assert listed[0]["last_pull"]["id"] == done["id"]


def test_api_refuses_what_it_must(env: Env) -> None:
    who = banned(env)
    url = f"{API}/sources/intune/pulls"
    assert env.client.post(url).status_code == 401
    problem(env.client.post(url, headers=env.headers(who.aude)), 403)
    problem(env.client.post(url, headers=env.headers(who.ana)), 403)
    missing = problem(
        env.client.post(f"{API}/sources/nope/pulls", headers=env.headers(who.olu)), 404
    )
    assert "known: android, intune" in missing["detail"]
    problem(env.client.get(f"{API}/pulls/nope", headers=env.headers(who.aude)), 404)
    # While a pull of the source runs, another is refused.
    source = source_named(env.settings, "intune")
    begin(pulling(env), source, actor="olu")
    busy = problem(env.client.post(url, headers=env.headers(who.olu)), 409)
    assert "is running" in busy["detail"]
    with pytest.raises(Conflict):
        begin(pulling(env), source, actor="olu")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[source]]\nname = 'x'\nkind = 'jamf'\n", "source[0]"),
        ("[[source]]\nname = 'x'\n", "source[0]"),
        ("[[sources]]\nname = 'x'\n", "unknown tables ['sources']"),
        ("[[source]\n", "not valid TOML"),
        ("[[source]]\nname = 'Bad Name'\nkind = 'amapi'\n", "source[0."),
        (
            "[[source]]\nname = 'a'\nkind = 'amapi'\nenterprise = 'enterprises/e'\n"
            "service_account_file = 'k'\nsecret = 'inline'\n",
            "Extra inputs are not permitted",
        ),
        (
            "[[source]]\nname = 'a'\nkind = 'amapi'\nenterprise = 'enterprises/e'\n"
            "service_account_file = 'k'\n[[source]]\nname = 'a'\nkind = 'amapi'\n"
            "enterprise = 'enterprises/f'\nservice_account_file = 'k'\n",
            "the name 'a' is used twice",
        ),
    ],
)
def test_bad_sources_files_are_refused_whole(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(Invalid) as refused:
        load(path)
    assert message in refused.value.detail


def test_a_bad_sources_file_is_a_clear_api_error(env: Env, tmp_path: Path) -> None:
    aude = env.user("aude", Role.auditor)
    path = tmp_path / "bad.toml"
    path.write_text("[[source]]\nname = 'x'\nkind = 'jamf'\n")
    env.settings.inventory_sources = path
    answer = problem(env.client.get(f"{API}/sources", headers=env.headers(aude)), 422)
    assert "inventory sources" in answer["detail"] and "source[0]" in answer["detail"]


@pytest.fixture
def cli(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("APPWARDEN_DATABASE_URL", env.settings.database)
    monkeypatch.setenv("APPWARDEN_AUDIT_KEY", "test-audit-key")
    monkeypatch.setenv("APPWARDEN_INVENTORY_SOURCES", str(env.settings.inventory_sources))
    monkeypatch.setattr(acting, "SystemClock", lambda: env.clock)
    return env


def invoke(args: list[str], token: str) -> Any:
    return CliRunner().invoke(app, ["inventory", *args], env={"APPWARDEN_TOKEN": token})


def test_cli_pulls_and_lists(cli: Env, mdm: FakeMdm) -> None:
    who = banned(cli)
    result = invoke(["pull", "android"], who.olu)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "android: pulled" in result.stdout and "2 devices (2 new, 1 skipped)" in result.stdout
    listed = invoke(["sources"], who.aude)
    assert listed.exit_code == 0, listed.stderr
    assert "intune  intune  on demand  never pulled" in listed.stdout
    assert "android  amapi  on demand  pulled" in listed.stdout
    as_json = json.loads(invoke(["sources", "--json"], who.aude).stdout)
    assert as_json[1]["last_pull"]["devices"] == 2
    mdm.queued["/google/token"] = [(400, {}, b'{"error": "invalid_grant"}')]
    failed = invoke(["pull", "android", "--json"], who.olu)
    assert failed.exit_code == 1 and json.loads(failed.stdout)["status"] == "failed"
    denied = invoke(["pull", "android"], who.aude)
    assert denied.exit_code == 1 and "the auditor role may not fleet" in denied.stderr
    unknown = invoke(["pull", "nope"], who.olu)
    assert unknown.exit_code == 1 and "no inventory source 'nope'" in unknown.stderr
