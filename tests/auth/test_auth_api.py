"""Sign-in, tokens, roles and problem documents, through the API, on both databases."""

from __future__ import annotations

from datetime import timedelta

from appwarden.auth.roles import Role
from tests.server import PASSWORD, Env


def test_routes_need_a_token(env: Env) -> None:
    response = env.client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 401 and body["type"].startswith("urn:appwarden:problem:")
    assert env.client.get("/api/v1/auth/me", headers=env.headers("aw_nope")).status_code == 401


def test_sign_in_issues_a_token_that_works_until_revoked(env: Env) -> None:
    env.user("ana", Role.analyst)
    response = env.client.post(
        "/api/v1/auth/token", json={"username": "ana", "password": PASSWORD, "token_name": "cli"}
    )
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token.startswith("aw_")
    me = env.client.get("/api/v1/auth/me", headers=env.headers(token))
    assert me.json()["username"] == "ana" and me.json()["role"] == "analyst"
    token_id = response.json()["details"]["id"]
    revoked = env.client.delete(f"/api/v1/auth/tokens/{token_id}", headers=env.headers(token))
    assert revoked.status_code == 200
    assert env.client.get("/api/v1/auth/me", headers=env.headers(token)).status_code == 401
    assert env.audit_ok().ok


def test_tokens_expire(env: Env) -> None:
    token = env.user("ana", Role.analyst)
    env.clock.advance(timedelta(days=31))
    assert env.client.get("/api/v1/auth/me", headers=env.headers(token)).status_code == 401


def test_wrong_password_is_rate_limited(env: Env) -> None:
    env.user("ana", Role.analyst)
    for _ in range(env.settings.sign_in_limit):
        bad = env.client.post("/api/v1/auth/token", json={"username": "ana", "password": "x"})
        assert bad.status_code == 401
    limited = env.client.post("/api/v1/auth/token", json={"username": "ana", "password": PASSWORD})
    assert limited.status_code == 429
    assert limited.json()["type"].endswith("rate-limited")
    env.clock.advance(timedelta(minutes=16))
    ok = env.client.post("/api/v1/auth/token", json={"username": "ana", "password": PASSWORD})
    assert ok.status_code == 201


def test_approvers_need_a_second_factor(env: Env) -> None:
    from appwarden.auth import service

    with env.session() as session, session.begin():
        user, secret = service.create_user(
            session,
            clock=env.clock,
            username="appr",
            display_name="A",
            role=Role.approver,
            password=PASSWORD,
        )
    assert secret
    without = env.client.post("/api/v1/auth/token", json={"username": "appr", "password": PASSWORD})
    assert without.status_code == 401
    code = service.totp_now(secret, env.clock)
    with_code = env.client.post(
        "/api/v1/auth/token", json={"username": "appr", "password": PASSWORD, "totp": code}
    )
    assert with_code.status_code == 201, with_code.text


def test_only_admins_manage_users(env: Env) -> None:
    analyst = env.user("ana", Role.analyst)
    admin = env.user("root", Role.admin)
    body = {"username": "new", "display_name": "New", "role": "auditor", "password": PASSWORD}
    denied = env.client.post("/api/v1/users", json=body, headers=env.headers(analyst))
    assert denied.status_code == 403
    created = env.client.post("/api/v1/users", json=body, headers=env.headers(admin))
    assert created.status_code == 201, created.text
    again = env.client.post("/api/v1/users", json=body, headers=env.headers(admin))
    assert again.status_code == 409
    malformed = env.client.post("/api/v1/users", json={"username": 3}, headers=env.headers(admin))
    assert malformed.status_code == 422
    assert malformed.headers["content-type"].startswith("application/problem+json")
    listed = env.client.get("/api/v1/users", headers=env.headers(admin)).json()
    assert listed["total"] == 3 and {u["username"] for u in listed["items"]} == {
        "ana",
        "root",
        "new",
    }
