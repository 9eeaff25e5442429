"""Every compliance status, the history written only on change, and "as of" reads."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from appwarden.compliance import service
from appwarden.compliance.models import ComplianceHistory
from tests.compliance.support import APP_TARGET, SIGNER, TIKTOK, Phone, compliance
from tests.decisions.support import actors, iso, ok, post, reach, seed_catalog
from tests.server import START, Env


def _statuses(env: Env, token: str, phone: Phone) -> dict[int, str]:
    device = compliance(env, token, f"/devices/{phone.id}/compliance")
    return {d["determination_id"]: d["status"] for d in device["determinations"]}


def _history_rows(env: Env) -> int:
    with env.session() as session:
        return int(session.scalar(select(func.count()).select_from(ComplianceHistory)) or 0)


def test_exempt_by_a_waiver_and_cannot_enforce_on_byod_ios(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    waived, byod = Phone(env, who), Phone(env, who, platform="ios", ownership="byod")
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    body = {
        "devices": [waived.id],
        "reason": "law_enforcement",
        "justification": "Undercover investigation needs the app on this phone.",
        "mitigations": ["no government data on the device"],
        "expires_at": iso(env.clock.now() + timedelta(days=30)),
    }
    waiver = ok(post(env, who.olu, f"/determinations/{number}/waivers", body), 201)
    ok(post(env, who.bea, f"/waivers/{waiver['id']}/approve", {"note": "checked"}))
    ok(waived.report({TIKTOK: None}))
    ok(byod.report({}))
    assert _statuses(env, who.aude, waived) == {number: "exempt"}
    assert _statuses(env, who.aude, byod) == {number: "cannot_enforce"}
    assert compliance(env, who.aude, f"/devices/{waived.id}/compliance")["compliant"] is True
    assert compliance(env, who.aude, f"/devices/{byod.id}/compliance")["compliant"] is True
    # Detected on a device that cannot enforce: still cannot_enforce, but not compliant.
    ok(byod.report({TIKTOK: None}))
    device = compliance(env, who.aude, f"/devices/{byod.id}/compliance")
    assert device["determinations"][0]["present"] is True and device["compliant"] is False
    summary = compliance(env, who.aude, f"/determinations/{number}/compliance")
    assert summary["counts"]["exempt"] == 1 and summary["counts"]["cannot_enforce"] == 1
    assert summary["time_to_compliance"]["devices"] == 0


def test_unreachable_after_the_configured_time_and_back_on_report(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    ok(phone.report({}))
    assert _statuses(env, who.aude, phone) == {number: "compliant"}
    env.clock.advance(timedelta(hours=23, minutes=59))
    assert _statuses(env, who.aude, phone) == {number: "compliant"}
    env.clock.advance(timedelta(minutes=1))
    assert _statuses(env, who.aude, phone) == {number: "unreachable"}
    assert compliance(env, who.aude, f"/devices/{phone.id}/compliance")["compliant"] is False
    rows = _history_rows(env)
    assert _statuses(env, who.aude, phone) == {number: "unreachable"}
    assert _history_rows(env) == rows  # unchanged: nothing appended
    ok(phone.report(None))
    assert _statuses(env, who.aude, phone) == {number: "compliant"}


def test_block_and_monitor_are_compliant_with_the_app_present_allow_lists_are_not(
    env: Env,
) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    block = reach(env, who, catalog, "in_force_interim", target=APP_TARGET, action="block")
    monitor = reach(
        env, who, catalog, "in_force_interim", action="monitor",
        target={"kind": "app", "app_id": "org.watched", "platform": None},
    )  # fmt: skip
    ok(phone.report({TIKTOK: None, "org.watched": None}))
    assert _statuses(env, who.aude, phone) == {block: "compliant", monitor: "compliant"}
    allow = reach(
        env, who, catalog, "in_force_interim", action="allow",
        target={"kind": "pattern", "pattern": "org.example.*", "platform": None},
    )  # fmt: skip
    ok(phone.report({"org.example.mail": None, "org.watched": None}))
    assert _statuses(env, who.aude, phone)[allow] == "non_compliant"  # org.watched unlisted
    ok(phone.report({"org.example.mail": None}))
    assert _statuses(env, who.aude, phone)[allow] == "compliant"


def test_signer_and_publisher_targets_judge_the_installed_apps(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    by_signer = reach(
        env, who, catalog, "in_force_interim", target={"kind": "signer", "sha256": SIGNER}
    )
    by_publisher = reach(env, who, catalog, "in_force_interim")  # ByteDance: TikTok
    ok(phone.report({"com.other": SIGNER.upper()}))
    assert _statuses(env, who.aude, phone) == {
        by_signer: "non_compliant",
        by_publisher: "compliant",
    }
    ok(phone.report({TIKTOK: None}))
    assert _statuses(env, who.aude, phone) == {
        by_signer: "compliant",
        by_publisher: "non_compliant",
    }


def test_history_grows_only_on_change_and_answers_as_of(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    one, two = Phone(env, who), Phone(env, who)
    ok(one.report({TIKTOK: None}))
    ok(two.report({TIKTOK: None}))
    number = reach(
        env, who, catalog, "in_force_interim", target=APP_TARGET,
        removal_deadline=iso(START + timedelta(hours=1)),
    )  # fmt: skip
    ok(one.report({TIKTOK: None}))
    ok(two.report({TIKTOK: None}))
    rows = _history_rows(env)
    ok(one.report({TIKTOK: None}))  # the same again: no new row
    assert _history_rows(env) == rows
    env.clock.advance(timedelta(minutes=10))
    middle = env.clock.now()
    env.clock.advance(timedelta(minutes=10))
    ok(one.report({}))
    env.clock.advance(timedelta(minutes=50))
    ok(two.report({}, report_id="r_two_late"))
    now = compliance(env, who.aude, f"/determinations/{number}/compliance")
    assert now["counts"]["compliant"] == 2 and now["stragglers"] == []
    ttc = now["time_to_compliance"]
    assert (ttc["devices"], ttc["compliant"]) == (2, 2)
    assert (ttc["t50_s"], ttc["t100_s"]) == (20 * 60.0, 70 * 60.0)

    then = compliance(
        env,
        who.aude,
        f"/determinations/{number}/compliance?as_of={iso(middle).replace('+', '%2B')}",
    )
    assert then["counts"]["non_compliant"] == 2 and then["counts"]["compliant"] == 0
    assert then["time_to_compliance"]["t50_s"] is None
    assert [s["overdue"] for s in then["stragglers"]] == [False, False]
    late = START + timedelta(hours=1, minutes=5)
    overdue = compliance(
        env, who.aude, f"/determinations/{number}/compliance?as_of={iso(late).replace('+', '%2B')}"
    )
    assert [(s["device_id"], s["overdue"]) for s in overdue["stragglers"]] == [(two.id, True)]

    history = compliance(env, who.aude, f"/determinations/{number}/compliance/history")
    mine = [(h["device_id"], h["status"]) for h in history["items"] if h["device_id"] == one.id]
    assert mine == [(one.id, "non_compliant"), (one.id, "compliant")]
    page = compliance(env, who.aude, f"/determinations/{number}/compliance/history?limit=1")
    assert len(page["items"]) == 1 and page["next_after"] == page["items"][0]["id"]


def test_a_rescinded_rule_closes_the_history_and_refresh_finds_changed_devices(
    env: Env,
) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    ok(phone.report({}))
    ok(post(env, who.alex, f"/determinations/{number}/rescind", {"note": "done"}))
    phone.policy()  # the server issues the next version
    with env.session() as session, session.begin():
        now: datetime = env.clock.now()
        assert service.refresh(session, now, settings=env.settings) == []  # still compliant
    assert _history_rows(env) == 2  # judged again by the refresh: the rule is gone
    history = compliance(env, who.aude, f"/determinations/{number}/compliance/history")
    assert [h["status"] for h in history["items"]] == ["compliant", "not_applicable"]
    assert compliance(env, who.aude, f"/devices/{phone.id}/compliance")["determinations"] == []
