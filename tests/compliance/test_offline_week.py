"""A device offline for a week, on the real server with a moved clock: the policy it held
carried the waiver's end and the ban's end, so it could let both lapse on time while
offline (the agent's side is tests/sim/test_sim_agent.py); when it returns it gets the
policy of that day and its compliance converges."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from appwarden.compliance.models import ComplianceHistory
from tests.compliance.support import APP_TARGET, TIKTOK, Phone, compliance
from tests.decisions.support import actors, iso, ok, post, reach, seed_catalog
from tests.server import Env


def _statuses(env: Env, token: str, phone: Phone) -> dict[int, str]:
    device = compliance(env, token, f"/devices/{phone.id}/compliance")
    return {d["determination_id"]: d["status"] for d in device["determinations"]}


def test_a_week_offline_then_back_converges(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    start = env.clock.now()
    ends = start + timedelta(days=5)
    number = reach(
        env,
        who,
        catalog,
        "in_force_interim",
        target=APP_TARGET,
        review_at=iso(start + timedelta(days=4)),
        expires_at=iso(ends),
    )
    body = {
        "devices": [phone.id],
        "reason": "law_enforcement",
        "justification": "Undercover investigation needs the app on this phone.",
        "mitigations": ["no government data on the device"],
        "expires_at": iso(start + timedelta(days=2)),
    }
    waiver = ok(post(env, who.olu, f"/determinations/{number}/waivers", body), 201)
    ok(post(env, who.bea, f"/waivers/{waiver['id']}/approve", {"note": "checked"}))

    held = phone.policy()
    (rule,) = held["policy"]["rules"]
    assert datetime.fromisoformat(rule["waived_until"]) == start + timedelta(days=2)
    assert datetime.fromisoformat(rule["expires_at"]) == ends
    assert TIKTOK not in held["policy"]["banned"]  # waived: the device keeps the app
    ok(phone.report({TIKTOK: None}, version=held["version"]))
    assert _statuses(env, who.aude, phone) == {number: "exempt"}

    env.clock.advance(timedelta(days=2, minutes=1))  # silent for two days: unreachable
    assert _statuses(env, who.aude, phone) == {number: "unreachable"}
    assert compliance(env, who.aude, f"/devices/{phone.id}/compliance")["compliant"] is False

    env.clock.set(start + timedelta(days=7))  # back after a week; the ban ended on day 5
    back = phone.policy()
    assert back["version"] > held["version"] and back["policy"]["rules"] == []
    # The agent removed the app when the waiver lapsed, offline; it reports that now.
    ok(phone.report({}, version=back["version"]))
    device = compliance(env, who.aude, f"/devices/{phone.id}/compliance")
    assert device["determinations"] == [] and device["compliant"] is True
    with env.session() as session:
        history = session.scalars(
            select(ComplianceHistory.status)
            .where(ComplianceHistory.device_id == phone.id)
            .order_by(ComplianceHistory.id)
        ).all()
    assert list(history) == ["exempt", "unreachable", "not_applicable"]  # closed at its end
