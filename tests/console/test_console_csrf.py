"""CSRF: every state-changing console request without the session's token is refused."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from appwarden.auth.models import ApiToken
from appwarden.auth.roles import Role
from appwarden.console.pages import ROUTERS
from tests.console.support import HTML, csrf_from, make_user, sign_in
from tests.server import PASSWORD, Env


def _console_changes() -> list[tuple[str, str]]:
    """(method, path) of every console route that changes state (not GET or HEAD)."""
    return sorted(
        (method, re.sub(r"\{[^}]+\}", "1", route.path))
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods - {"GET", "HEAD"}
    )


def _live_tokens(env: Env) -> int:
    with env.session() as session:
        query = select(func.count()).where(ApiToken.revoked_at.is_(None))
        return int(session.scalar(query.select_from(ApiToken)) or 0)


@pytest.mark.parametrize("token", [None, "0" * 64, "not-a-token"])
def test_sign_out_without_the_right_token_changes_nothing(env: Env, token: str | None) -> None:
    make_user(env, "aude", Role.auditor)
    sign_in(env, "aude")
    before = _live_tokens(env)
    data = {"csrf_token": token} if token else {}
    response = env.client.post("/sign-out", data=data, headers=HTML, follow_redirects=False)
    assert response.status_code == 403
    assert "Form refused" in response.text and "nothing was changed" in response.text
    assert _live_tokens(env) == before
    assert env.client.get("/audit", headers=HTML).status_code == 200  # still signed in


def test_a_token_from_another_session_is_refused(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    sign_in(env, "aude")
    mine = csrf_from(env.client.get("/", headers=HTML))
    env.client.cookies.clear()
    sign_in(env, "aude")  # a second session: its token differs
    response = env.client.post(
        "/sign-out", data={"csrf_token": mine}, headers=HTML, follow_redirects=False
    )
    assert response.status_code == 403


def test_htmx_header_is_accepted(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    sign_in(env, "aude")
    token = csrf_from(env.client.get("/", headers=HTML))
    headers = {**HTML, "X-CSRF-Token": token, "HX-Request": "true"}
    response = env.client.post("/sign-out", headers=headers, follow_redirects=False)
    assert response.status_code == 303


def test_sign_in_form_needs_its_token(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    env.client.get("/sign-in", headers=HTML)  # the pre-session cookie
    data = {"username": "aude", "password": PASSWORD}
    response = env.client.post("/sign-in", data=data, headers=HTML, follow_redirects=False)
    assert response.status_code == 403
    assert "appwarden_session" not in env.client.cookies
    # Without any cookie at all (a cross-site form), likewise.
    env.client.cookies.clear()
    data["csrf_token"] = "0" * 64
    assert env.client.post("/sign-in", data=data, headers=HTML).status_code == 403


def test_every_console_post_route_checks_the_token(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    sign_in(env, "aude")
    routes = _console_changes()
    assert {("POST", "/sign-in"), ("POST", "/sign-out")} <= set(routes)
    for method, path in routes:
        response = env.client.request(method, path, data={}, headers=HTML)
        assert response.status_code == 403, (method, path)
