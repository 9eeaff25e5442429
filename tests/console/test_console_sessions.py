"""Signing in to the console: the auth service's checks, cookie flags, expiry, sign-out."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from appwarden.audit.models import AuditEvent
from appwarden.auth import service as auth
from appwarden.auth.models import ApiToken
from appwarden.auth.roles import Role
from tests.console.support import HTML, make_user, post_sign_in, set_cookies, sign_in
from tests.server import Env, running_env


def test_sign_in_sets_a_session_cookie_httponly_samesite(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    response = post_sign_in(env.client, "aude", next_page="/audit")
    assert response.status_code == 303 and response.headers["location"] == "/audit"
    cookie = set_cookies(response)["appwarden_session"]
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "max-age=28800" in flags  # APPWARDEN_SESSION_MINUTES = 480
    assert "secure" not in flags  # plain http, cookie_secure = auto
    page = env.client.get("/audit", headers=HTML)
    assert page.status_code == 200 and "Signed in as <strong>Aude</strong> (auditor)" in page.text
    with env.session() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.name == "console"))
        assert token is not None and token.expires_at == env.clock.now() + timedelta(minutes=480)
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "session.start" in actions


def test_cookies_are_secure_when_configured(database_url: str, tmp_path: Path) -> None:
    with running_env(database_url, tmp_path / "data", cookie_secure="always") as env:
        make_user(env, "aude", Role.auditor)
        first = env.client.get("/sign-in", headers=HTML)
        assert "secure" in set_cookies(first)["appwarden_presession"].lower()
        # TestClient speaks http: a Secure cookie is not sent back, so the form is refused
        # (403) — which is the point of Secure on a plain-http connection.
        response = post_sign_in(env.client, "aude")
        assert response.status_code == 403


def test_wrong_password_is_refused_and_counted(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    response = post_sign_in(env.client, "aude", "not the password at all")
    assert response.status_code == 401
    assert "Wrong user name, password or code." in response.text
    assert "appwarden_session" not in set_cookies(response)
    assert 'value="aude"' in response.text  # the user name is kept, the password is not


def test_bad_input_gets_a_clear_message(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    empty = post_sign_in(env.client, "", "")
    assert empty.status_code == 422 and "Enter your user name and password." in empty.text
    long_name = post_sign_in(env.client, "a" * 65)
    assert long_name.status_code == 422 and "too long" in long_name.text
    code = post_sign_in(env.client, "aude", totp="12ab")
    assert code.status_code == 422 and "six digits" in code.text


def test_failed_sign_ins_share_the_api_limit(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    for _ in range(3):
        assert post_sign_in(env.client, "aude", "wrong password!!").status_code == 401
    for _ in range(2):
        body = {"username": "aude", "password": "wrong password!!"}
        assert env.client.post("/api/v1/auth/token", json=body).status_code == 401
    # Five failures (the default limit) across both doors: even the right password waits.
    limited = post_sign_in(env.client, "aude")
    assert limited.status_code == 429 and "Wait 15 minutes" in limited.text
    env.clock.advance(timedelta(minutes=16))
    assert post_sign_in(env.client, "aude").status_code == 303


def test_approver_needs_the_second_factor(env: Env) -> None:
    secret = make_user(env, "alex", Role.approver)
    assert secret is not None
    assert post_sign_in(env.client, "alex").status_code == 401
    code = auth.totp_now(secret, env.clock)
    response = post_sign_in(env.client, "alex", totp=code)
    assert response.status_code == 303
    assert "(approver)" in env.client.get("/", headers=HTML).text


def test_session_expires(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    sign_in(env, "aude")
    assert env.client.get("/audit", headers=HTML).status_code == 200
    env.clock.advance(timedelta(minutes=481))
    response = env.client.get("/audit", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Faudit&ended=1"
    page = env.client.get(response.headers["location"], headers=HTML)
    assert "Your session has ended. Sign in again." in page.text


def test_sign_out_revokes_the_session(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    sign_in(env, "aude")
    cookie = env.client.cookies["appwarden_session"]
    page = env.client.get("/", headers=HTML)
    token = page.text.split('name="csrf_token" value="')[1][:64]
    response = env.client.post(
        "/sign-out", data={"csrf_token": token}, headers=HTML, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/sign-in?signed_out=1"
    assert "max-age=0" in set_cookies(response)["appwarden_session"].lower()
    # The old cookie no longer opens anything, nor does it work as an API token.
    env.client.cookies.set("appwarden_session", cookie)
    assert env.client.get("/", headers=HTML, follow_redirects=False).status_code == 303
    assert env.client.get("/api/v1/auth/me", headers=env.headers(cookie)).status_code == 401
    assert env.audit_ok().ok


def test_next_never_leaves_the_site(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "audit"):
        response = post_sign_in(env.client, "aude", next_page=target)
        assert response.headers["location"] == "/", target


def test_not_signed_in_goes_to_the_sign_in_page(env: Env) -> None:
    response = env.client.get("/audit?actor=ana", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Faudit%3Factor%3Dana"
