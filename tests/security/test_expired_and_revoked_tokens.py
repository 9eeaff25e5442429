"""Expired and revoked API tokens, and expired, used-up or unknown enrollment tokens, are
refused, write nothing but the audit of the refusal."""

from __future__ import annotations

from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from appwarden.audit.models import AuditEvent
from appwarden.audit.refusals import ENROLLMENT_REFUSED, TOKEN_REFUSED
from appwarden.auth.roles import Role
from tests.catalog.helpers import assert_problem
from tests.fleet.helpers import counts, create_group, issue_token
from tests.security.support import enroll, refusals
from tests.server import Env


def test_an_expired_api_token_is_refused_and_audited(env: Env) -> None:
    token = env.user("ana", Role.analyst)  # valid 30 days
    assert env.client.get("/api/v1/auth/me", headers=env.headers(token)).status_code == 200
    env.clock.advance(timedelta(days=30))
    response = env.client.get("/api/v1/apps", headers=env.headers(token))
    assert "expired" in assert_problem(response, 401)["detail"]
    assert response.headers["www-authenticate"] == "Bearer"
    [event] = refusals(env, TOKEN_REFUSED)
    assert event.object_id == "GET /api/v1/apps"
    assert event.after["reason"] == "unknown, expired or revoked token"
    assert env.audit_ok().ok


def test_a_revoked_api_token_is_refused_and_audited(env: Env) -> None:
    token = env.user("ana", Role.analyst)
    mine = env.client.get("/api/v1/auth/tokens", headers=env.headers(token)).json()["items"]
    revoked = env.client.delete(f"/api/v1/auth/tokens/{mine[0]['id']}", headers=env.headers(token))
    assert revoked.status_code == 200
    before = counts(env)
    body = {"name": "Sneaky", "jurisdiction": "CA"}
    response = env.client.post("/api/v1/publishers", json=body, headers=env.headers(token))
    assert_problem(response, 401)
    assert counts(env) == before
    [event] = refusals(env, TOKEN_REFUSED)
    assert event.object_id == "POST /api/v1/publishers"


def test_a_made_up_or_missing_token_is_refused_and_audited(env: Env) -> None:
    assert_problem(env.client.get("/api/v1/users"), 401)
    env.clock.advance(timedelta(minutes=1))
    assert_problem(env.client.get("/api/v1/users", headers=env.headers("aw_guess")), 401)
    reasons = [e.after["reason"] for e in refusals(env, TOKEN_REFUSED)]
    assert reasons == ["no token", "unknown, expired or revoked token"]


def test_expired_used_up_and_unknown_enrollment_tokens_are_refused_and_audited(env: Env) -> None:
    operator = env.user("ops", Role.operator)
    group = create_group(env, operator, name="Staff")
    once = issue_token(env, operator, group["id"], max_uses=1)
    soon = issue_token(env, operator, group["id"], expires_in_hours=1)
    assert enroll(env, once, Ed25519PrivateKey.generate()).status_code == 201
    before = counts(env)
    outcomes = []
    for token in (once, soon, "aw_enroll_made_up"):
        if token == soon:
            env.clock.advance(timedelta(hours=1))
        env.clock.advance(timedelta(minutes=1))  # each in its own window: each written
        outcomes.append(assert_problem(enroll(env, token, Ed25519PrivateKey.generate()), 401))
    assert ["used up" in outcomes[0]["detail"], "expired" in outcomes[1]["detail"]] == [True, True]
    assert counts(env) == before  # no device, no membership, no token use
    events = refusals(env, ENROLLMENT_REFUSED)
    assert [e.after["status"] for e in events] == [401, 401, 401]
    assert [e.after["reason"] for e in events] == [o["detail"] for o in outcomes]
    # The token is named by the start of its hash, never by its value.
    assert all(e.object_id not in (once, soon) and len(e.object_id) == 16 for e in events)
    assert env.audit_ok().ok


def test_a_revoked_enrollment_token_is_refused_and_audited(env: Env) -> None:
    operator = env.user("ops", Role.operator)
    group = create_group(env, operator, name="Staff")
    token = issue_token(env, operator, group["id"], max_uses=5)
    assert enroll(env, token, Ed25519PrivateKey.generate()).status_code == 201
    [row] = env.client.get("/api/v1/enrollment-tokens", headers=env.headers(operator)).json()[
        "items"
    ]
    revoked = env.client.post(
        f"/api/v1/enrollment-tokens/{row['id']}/revoke", headers=env.headers(operator)
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None and revoked.json()["uses"] == 1
    again = env.client.post(
        f"/api/v1/enrollment-tokens/{row['id']}/revoke", headers=env.headers(operator)
    )
    assert_problem(again, 409)
    before = counts(env)
    refused = assert_problem(enroll(env, token, Ed25519PrivateKey.generate()), 401)
    assert "revoked" in refused["detail"]
    assert counts(env) == before
    [event] = refusals(env, ENROLLMENT_REFUSED)
    assert event.after["reason"] == refused["detail"]
    # The device it enrolled before stays; the revocation itself is audited with its actor.
    assert before["devices"] == 1
    with env.session() as session:
        actions = session.scalars(
            select(AuditEvent.actor).where(AuditEvent.action == "enrollment_token.revoke")
        ).all()
    assert actions == ["ops"]
    assert env.audit_ok().ok


def test_only_operators_revoke_enrollment_tokens(env: Env) -> None:
    operator = env.user("ops", Role.operator)
    analyst = env.user("ana", Role.analyst)
    group = create_group(env, operator, name="Staff")
    issue_token(env, operator, group["id"])
    path = "/api/v1/enrollment-tokens/1/revoke"
    assert_problem(env.client.post(path, headers=env.headers(analyst)), 403)
    assert_problem(
        env.client.post("/api/v1/enrollment-tokens/99/revoke", headers=env.headers(operator)), 404
    )
    listed = env.client.get("/api/v1/enrollment-tokens", headers=env.headers(operator)).json()
    assert [t["revoked_at"] for t in listed["items"]] == [None]
