"""Importing MDM inventories through the API and the command line, on both databases:
devices of their source, keyed by the MDM's id, judged exactly as agents are."""

from __future__ import annotations

import json
import plistlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from appwarden.audit.models import AuditEvent
from appwarden.cli import acting
from appwarden.cli.main import app
from appwarden.fleet.models import Device
from tests.compliance.support import APP_TARGET, STATE_TABLES, TIKTOK, group_id
from tests.decisions.support import Actors, actors, get, ok, problem, reach, seed_catalog
from tests.inventories.test_documents import sample
from tests.server import Env, audited_changes

SCOPE = "government-issued"
#: The samples' inventories were taken on the morning of 10 January 2027.
MORNING = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
API = "/api/v1/inventories"


def banned(env: Env) -> Actors:
    """TikTok banned, in force for the group (before the samples were taken)."""
    who, catalog = actors(env), seed_catalog(env)
    group_id(env, who, SCOPE)
    reach(env, who, catalog, "in_force", target=APP_TARGET)
    assert env.clock.now() < MORNING - timedelta(hours=3)
    env.clock.set(MORNING)
    return who


def send(env: Env, token: str, kind: str, data: bytes, **query: Any) -> httpx.Response:
    params = {"group": SCOPE} | {k: str(v) for k, v in query.items()}
    return env.client.post(f"{API}/{kind}", content=data, params=params, headers=env.headers(token))


def rows(env: Env) -> dict[str, int]:
    from appwarden.models import Base

    tables = (*STATE_TABLES, "devices", "device_inventories", "device_group_members")
    with env.session() as session:
        counted = {
            t: int(session.scalar(select(func.count()).select_from(Base.metadata.tables[t])) or 0)
            for t in tables
        }
        counted["audit"] = audited_changes(session)  # refusals aside
    return counted


def compliance(env: Env, token: str, device_id: str) -> dict[int, str]:
    body = ok(get(env, token, f"/devices/{device_id}/compliance"))
    return {int(s["determination_id"]): s["status"] for s in body["determinations"]}


def test_intune_devices_are_imported_and_judged_like_agents(env: Env) -> None:
    who = banned(env)
    result = ok(send(env, who.olu, "intune", sample("intune_managed_devices.json")))
    android, iphone = result["devices"]
    assert [s["reason"] for s in result["skipped"]] == [
        "operating system 'Windows' is not a phone's"
    ]
    # "TikTok" is a display name: the catalog names the app; "Microsoft Outlook" names none.
    assert (android["apps"], android["unresolved"], android["compliance"]) == (
        2,
        [],
        "non_compliant",
    )
    assert (iphone["unresolved"], iphone["compliance"]) == (["Microsoft Outlook"], "compliant")
    assert android["created"] and android["taken_at"] == "2027-01-10T08:00:00Z"
    device = ok(get(env, who.aude, f"/devices/{android['device_id']}"))
    assert (device["source"], device["platform"], device["ownership"]) == (
        "intune",
        "android",
        "corporate",
    )
    assert device["has_key"] is False and SCOPE in device["static_groups"]
    assert set(compliance(env, who.aude, android["device_id"]).values()) == {"non_compliant"}
    state = ok(get(env, who.aude, f"/devices/{android['device_id']}/state"))
    assert state["reported_at"] == "2027-01-10T08:00:00Z"  # when Intune took it, not now
    assert state["inventory"]["source"] == "intune"
    assert state["inventory"]["external_id"] == "5e1a8b1c-4f0e-4a61-9b7d-2c0f9d1e7a01"
    assert state["inventory"]["imported_at"] == "2027-01-10T09:00:00Z"
    assert TIKTOK in [a["app_id"] for a in state["installed_apps"]]
    listed = ok(get(env, who.aude, "/devices?source=intune"))
    assert listed["total"] == 2 and ok(get(env, who.aude, "/devices?source=agent"))["total"] == 0
    with env.session() as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert actions[-3:] == ["device.import", "device.import", "inventory.import"]
    assert env.audit_ok().ok


def test_reimport_updates_the_same_devices(env: Env) -> None:
    who = banned(env)
    first = ok(send(env, who.olu, "intune", sample("intune_managed_devices.json")))
    document = json.loads(sample("intune_managed_devices.json"))
    android = document["value"][0]
    android["lastSyncDateTime"] = "2027-01-10T10:00:00Z"
    android["detectedApps"] = android["detectedApps"][1:]  # TikTok removed
    android["managedDeviceOwnerType"] = "personal"
    env.clock.set(MORNING + timedelta(hours=2))
    before = rows(env)
    again = ok(send(env, who.olu, "intune", json.dumps(document).encode()))
    assert [d["device_id"] for d in again["devices"]] == [d["device_id"] for d in first["devices"]]
    assert not any(d["created"] for d in again["devices"])
    assert again["devices"][0]["compliance"] == "compliant"
    after = rows(env)
    assert after["devices"] == before["devices"] == 2
    assert after["device_inventories"] == 2
    device = ok(get(env, who.aude, f"/devices/{first['devices'][0]['device_id']}"))
    assert device["ownership"] == "byod"
    # The same file again records nothing new (each inventory is one report, once).
    same = ok(send(env, who.olu, "intune", json.dumps(document).encode()))
    assert [d["compliance"] for d in same["devices"]] == ["compliant", "compliant"]


def test_an_older_inventory_is_refused_whole(env: Env) -> None:
    who = banned(env)
    ok(send(env, who.olu, "intune", sample("intune_managed_devices.json")))
    document = json.loads(sample("intune_managed_devices.json"))
    document["value"][1]["lastSyncDateTime"] = "2027-01-09T07:30:00Z"
    before = rows(env)
    refused = problem(send(env, who.olu, "intune", json.dumps(document).encode()), 409)
    assert "value[1] (id '5e1a8b1c-4f0e-4a61-9b7d-2c0f9d1e7a02')" in refused["detail"]
    assert "older than the one held" in refused["detail"]
    assert rows(env) == before


def test_an_inventory_older_than_the_ban_proves_nothing_yet(env: Env) -> None:
    """Judged honestly: a ban that took force after the inventory was taken is pending."""
    who = banned(env)
    with env.session() as session:
        from appwarden.decisions.models import Determination

        effective = session.scalar(select(Determination.effective_at))
    assert effective is not None
    env.clock.set(effective + timedelta(hours=1))
    data = sample("apple_installed_apps.plist")
    before_ban = (effective - timedelta(hours=1)).isoformat()
    result = ok(send(env, who.olu, "apple-mdm", data, taken_at=before_ban, supervised="true"))
    holder, other = result["devices"]
    assert holder["compliance"] == "compliant"  # pending within the removal deadline
    assert set(compliance(env, who.aude, holder["device_id"]).values()) == {"pending"}
    device = ok(get(env, who.aude, f"/devices/{holder['device_id']}"))
    assert (device["source"], device["platform"], device["supervised"]) == (
        "apple-mdm",
        "ios",
        True,
    )
    # A newer inventory taken after the ban shows it still there: non-compliant.
    env.clock.advance(timedelta(hours=1))
    later = ok(send(env, who.olu, "apple-mdm", data, taken_at=env.clock.now().isoformat()))
    assert [d["compliance"] for d in later["devices"]] == ["non_compliant", "compliant"]
    assert set(compliance(env, who.aude, holder["device_id"]).values()) == {"non_compliant"}
    assert other["external_id"] == "FA3B9C1D-7E42-4E60-8D11-0123456789AB"


def test_a_stale_inventory_is_unreachable(env: Env) -> None:
    who = banned(env)
    env.clock.set(MORNING + timedelta(days=3))
    result = ok(send(env, who.olu, "amapi", sample("amapi_devices_list.json")))
    assert [d["compliance"] for d in result["devices"]] == ["unreachable", "unreachable"]
    assert [s["reason"] for s in result["skipped"]] == ["its state is DELETED"]


@pytest.mark.parametrize(
    ("kind", "data", "status", "message"),
    [
        ("pdf", b"{}", 422, "unknown inventory kind 'pdf'"),
        ("intune", b'{"value": [', 422, "not JSON"),
        ("amapi", b'{"devices": [{"name": "enterprises/e/devices/1", "applicationReports": []},'
                  b' {"name": "enterprises/e/devices/2"}]}', 422,
         "response.devices[1] (enterprises/e/devices/2): applicationReports is missing"),
        ("apple-mdm", plistlib.dumps([{"UDID": "u", "InstalledApplicationList": []}] * 2), 422,
         "UDID 'u' is listed twice"),
        ("apple-mdm", b'<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY x SYSTEM '
                      b'"file:///etc/passwd">]><plist><string>&x;</string></plist>', 422,
         "entity declarations are not supported"),
    ],
)  # fmt: skip
def test_bad_files_import_nothing(
    env: Env, kind: str, data: bytes, status: int, message: str
) -> None:
    who = banned(env)
    before = rows(env)
    assert message in problem(send(env, who.olu, kind, data), status)["detail"]
    assert rows(env) == before


def test_limits_group_and_permissions(env: Env) -> None:
    who = banned(env)
    before = rows(env)
    data = sample("amapi_devices_list.json")
    assert "nowhere" in problem(send(env, who.olu, "amapi", data, group="nowhere"), 404)["detail"]
    future = (MORNING + timedelta(days=1)).isoformat()
    late = json.loads(data)
    late["devices"][1]["lastStatusReportTime"] = future
    assert (
        "in the future"
        in problem(send(env, who.olu, "amapi", json.dumps(late).encode()), 422)["detail"]
    )
    naive = send(env, who.olu, "apple-mdm", sample("apple_installed_apps.plist"),
                 taken_at="2027-01-10T08:00:00")  # fmt: skip
    assert "time zone" in problem(naive, 422)["detail"]
    problem(send(env, who.aude, "amapi", data), 403)
    assert env.client.post(f"{API}/amapi", content=data).status_code == 401
    env.settings.inventory_max_bytes = len(data) - 1
    assert "larger than" in problem(send(env, who.olu, "amapi", data), 413)["detail"]
    assert rows(env) == before


@pytest.fixture
def cli(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.setenv("APPWARDEN_DATABASE_URL", env.settings.database)
    monkeypatch.setenv("APPWARDEN_AUDIT_KEY", "test-audit-key")
    monkeypatch.setattr(acting, "SystemClock", lambda: env.clock)
    return env


def test_cli_imports_a_file(cli: Env, tmp_path: Path) -> None:
    who = banned(cli)
    path = tmp_path / "devices.json"
    path.write_bytes(sample("amapi_devices_list.json"))
    args = ["inventory", "import", "amapi", str(path), "--group", SCOPE]
    result = CliRunner().invoke(app, args, env={"APPWARDEN_TOKEN": who.olu})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "imported 2 devices from amapi (2 new, 0 updated, 1 skipped)" in result.stdout
    assert "non_compliant" in result.stdout
    with cli.session() as session:
        sources = sorted(session.scalars(select(Device.source)))
    assert sources == ["amapi", "amapi"]
    again = CliRunner().invoke(app, [*args, "--json"], env={"APPWARDEN_TOKEN": who.olu})
    assert again.exit_code == 0, again.stderr
    assert [d["created"] for d in json.loads(again.stdout)["devices"]] == [False, False]


@pytest.mark.parametrize(
    ("extra", "token", "message"),
    [
        (["apple-mdm", "FILE"], "olu", "not a property list"),
        (["amapi", "MISSING"], "olu", "cannot read"),
        (["amapi", "FILE", "--ownership", "rented"], "olu", "--ownership must be"),
        (["amapi", "FILE", "--taken-at", "2027-01-10T08:00"], "olu", "time zone"),
        (["amapi", "FILE"], "aude", "the auditor role may not fleet"),
    ],
)
def test_cli_bad_input_imports_nothing(
    cli: Env, tmp_path: Path, extra: list[str], token: str, message: str
) -> None:
    who = banned(cli)
    (tmp_path / "FILE").write_bytes(b'{"devices": []}')
    args = [str(tmp_path / a) if a in ("FILE", "MISSING") else a for a in extra]
    before = rows(cli)
    result = CliRunner().invoke(
        app, ["inventory", "import", *args], env={"APPWARDEN_TOKEN": getattr(who, token)}
    )
    assert result.exit_code == 1
    assert message in result.stderr
    assert rows(cli) == before
