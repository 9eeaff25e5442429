"""Helpers for console tests in-process: users, signing in through the form, CSRF tokens."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

from appwarden.auth import service as auth
from appwarden.auth.roles import Role
from tests.server import PASSWORD, Env

HTML = {"accept": "text/html"}
_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def make_user(env: Env, username: str, role: Role, display_name: str | None = None) -> str | None:
    """A user with the test password; returns its TOTP secret (approvers, admins)."""
    with env.session() as session, session.begin():
        _user, secret = auth.create_user(
            session,
            clock=env.clock,
            username=username,
            display_name=display_name or username.title(),
            role=role,
            password=PASSWORD,
        )
    return secret


def csrf_from(page: Response) -> str:
    match = _TOKEN.search(page.text)
    assert match, "the page has no CSRF token"
    return match.group(1)


def post_sign_in(
    client: TestClient,
    username: str,
    password: str = PASSWORD,
    *,
    totp: str = "",
    next_page: str = "/",
) -> Response:
    form = client.get("/sign-in", headers=HTML)
    assert form.status_code == 200, form.text
    data = {
        "username": username,
        "password": password,
        "totp": totp,
        "next": next_page,
        "csrf_token": csrf_from(form),
    }
    return client.post("/sign-in", data=data, headers=HTML, follow_redirects=False)


def sign_in(env: Env, username: str, *, totp: str = "") -> None:
    response = post_sign_in(env.client, username, totp=totp)
    assert response.status_code == 303, response.text


def set_cookies(response: Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        cookies[header.split("=", 1)[0]] = header
    return cookies
