"""Waivers: named devices or users only, a reason from the closed list, a bounded expiry,
requested by one user and approved by another, and they stop applying by themselves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from appwarden.audit.models import AuditEvent
from appwarden.auth.roles import Role
from appwarden.waivers import service
from tests.decisions.support import (
    act,
    actors,
    counts,
    get,
    iso,
    ok,
    post,
    problem,
    promote,
    reach,
    seed_catalog,
)
from tests.server import Env


def waiver_body(env: Env, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "devices": ["RCMP-PIXEL-0042"],
        "users": [],
        "reason": "law_enforcement",
        "justification": "Undercover investigation needs the app on this phone.",
        "mitigations": ["no government data on the device", "kept in a Faraday bag at rest"],
        "expires_at": iso(env.clock.now() + timedelta(days=30)),
    }
    body.update(changes)
    return body


def test_request_approve_and_it_applies_until_it_expires(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force")
    requested = ok(post(env, who.olu, f"/determinations/{number}/waivers", waiver_body(env)), 201)
    assert requested["state"] == "requested" and requested["applies_now"] is False
    waiver = requested["id"]
    approved = ok(post(env, who.alex, f"/waivers/{waiver}/approve", {"note": "checked"}))
    assert approved["state"] == "active" and approved["applies_now"] is True
    assert approved["approved_by"] == "alex"
    with env.session() as session:
        assert [w.id for w in service.active(session, now=env.clock.now())] == [waiver]
    detail = ok(get(env, who.aude, f"/determinations/{number}"))
    assert [w["id"] for w in detail["waivers"]] == [waiver]
    assert [e["action"] for e in detail["timeline"]][-2:] == ["waiver.request", "waiver.approve"]
    with env.session() as session:
        trail = session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "waiver").order_by(AuditEvent.seq)
        ).all()
        assert [(e.action, e.actor, e.object_id) for e in trail] == [
            ("waiver.request", "olu", str(waiver)), ("waiver.approve", "alex", str(waiver)),
        ]  # fmt: skip
        assert trail[1].before == {"state": "requested"}
        assert trail[1].after == {
            "state": "approved",
            "determination_id": number,
            "note": "checked",
        }

    env.clock.advance(timedelta(days=30))
    expired = ok(get(env, who.aude, f"/waivers/{waiver}"))
    assert expired["state"] == "expired" and expired["applies_now"] is False
    assert expired["stored_state"] == "approved"  # nobody acted; the clock did
    with env.session() as session:
        assert service.active(session, now=env.clock.now()) == []
    listed = ok(get(env, who.aude, f"/waivers?state=expired&determination_id={number}"))
    assert [w["id"] for w in listed["items"]] == [waiver]
    assert ok(get(env, who.aude, "/waivers?state=active"))["total"] == 0
    problem(post(env, who.bea, f"/waivers/{waiver}/revoke", {"note": "x"}), 409)
    assert env.audit_ok().ok


def test_a_waiver_ends_with_its_determination(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force")
    waiver = ok(post(env, who.olu, f"/determinations/{number}/waivers", waiver_body(env)), 201)
    ok(post(env, who.alex, f"/waivers/{waiver['id']}/approve"))
    ok(act(env, who.alex, number, "rescind", {"note": "lifted"}))
    after = ok(get(env, who.aude, f"/waivers/{waiver['id']}"))
    assert after["state"] == "active" and after["applies_now"] is False
    with env.session() as session:
        assert service.active(session, now=env.clock.now()) == []


BAD = {
    "blanket": {"devices": [], "users": []},
    "wildcard device": {"devices": ["*"]},
    "reason outside the list": {"reason": "convenience"},
    "no mitigations": {"mitigations": []},
    "naive expiry": {"expires_at": "2027-01-01T00:00:00"},
    "unknown field": {"scope": ["government-issued"]},
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_requests_are_422_and_write_nothing(env: Env, case: str) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force")
    before = counts(env)
    refused = problem(
        post(env, who.olu, f"/determinations/{number}/waivers", waiver_body(env, **BAD[case])), 422
    )
    if case == "blanket":
        assert "whole scope" in refused["detail"]
    assert counts(env) == before and env.audit_ok().ok


def test_expiry_is_bounded(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force")
    path = f"/determinations/{number}/waivers"
    before = counts(env)
    longest = env.settings.waiver_max_days
    too_long = waiver_body(env, expires_at=iso(env.clock.now() + timedelta(days=longest + 1)))
    assert "APPWARDEN_WAIVER_MAX_DAYS" in problem(post(env, who.olu, path, too_long), 422)["detail"]
    past = waiver_body(env, expires_at=iso(env.clock.now() - timedelta(minutes=1)))
    problem(post(env, who.olu, path, past), 422)
    assert counts(env) == before
    at_most = waiver_body(env, expires_at=iso(env.clock.now() + timedelta(days=longest)))
    ok(post(env, who.olu, path, at_most), 201)


@pytest.mark.parametrize(
    "status", ["draft", "proposed", "notice", "rejected", "rescinded", "expired"]
)
def test_only_determinations_in_force_take_waivers(env: Env, status: str) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, status)
    before = counts(env)
    refused = problem(
        post(env, who.olu, f"/determinations/{number}/waivers", waiver_body(env)), 409
    )
    assert f"is {status}" in refused["detail"]
    assert counts(env) == before


def test_requester_is_never_the_approver(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force")
    waiver = ok(post(env, who.alex, f"/determinations/{number}/waivers", waiver_body(env)), 201)
    before = counts(env)
    refused = problem(post(env, who.alex, f"/waivers/{waiver['id']}/approve"), 403)
    assert refused["type"].endswith("separation-of-duties")
    problem(post(env, who.olu, f"/waivers/{waiver['id']}/approve"), 403, "forbidden")  # no role
    assert counts(env) == before
    promote(env, "olu", Role.approver)
    ok(post(env, who.olu, f"/waivers/{waiver['id']}/approve"))
    twice = problem(post(env, who.bea, f"/waivers/{waiver['id']}/approve"), 409)
    assert "is active" in twice["detail"]


def test_revoke_needs_a_note_and_ends_it_now(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force")
    waiver = ok(post(env, who.olu, f"/determinations/{number}/waivers", waiver_body(env)), 201)
    ok(post(env, who.alex, f"/waivers/{waiver['id']}/approve"))
    problem(post(env, who.alex, f"/waivers/{waiver['id']}/revoke", {}), 422)
    revoked = ok(post(env, who.bea, f"/waivers/{waiver['id']}/revoke", {"note": "misuse"}))
    assert revoked["state"] == "revoked" and revoked["applies_now"] is False
    assert revoked["revoked_by"] == "bea" and revoked["revoke_note"] == "misuse"
    before = counts(env)
    problem(post(env, who.bea, f"/waivers/{waiver['id']}/revoke", {"note": "again"}), 409)
    problem(post(env, who.bea, f"/waivers/{waiver['id']}/approve"), 409)
    assert counts(env) == before and env.audit_ok().ok


def test_unknown_ids_and_idempotent_request(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force")
    before = counts(env)
    problem(post(env, who.olu, "/determinations/999999/waivers", waiver_body(env)), 404)
    problem(post(env, who.alex, "/waivers/999999/approve"), 404)
    problem(post(env, who.alex, "/waivers/999999/revoke", {"note": "x"}), 404)
    problem(get(env, who.aude, "/waivers/999999"), 404)
    assert counts(env) == before
    body, path = waiver_body(env), f"/determinations/{number}/waivers"
    first = ok(post(env, who.olu, path, body, key="w-1"), 201)
    again = post(env, who.olu, path, body, key="w-1")
    assert again.status_code == 201 and again.json() == first
    assert counts(env)["waivers"] == 1
    problem(get(env, who.aude, "/waivers?state=sleeping"), 422)


def test_users_alone_are_named(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force")
    body = waiver_body(env, devices=[], users=["j.doe", "j.doe"], reason="official_communications")
    created = ok(post(env, who.olu, f"/determinations/{number}/waivers", body), 201)
    assert created["users"] == ["j.doe"] and created["devices"] == []
