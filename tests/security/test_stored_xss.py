"""Stored XSS: app metadata (and anything else a user or an app file can name) is shown
escaped on every page that renders it, never as markup."""

from __future__ import annotations

from typing import Any

from appwarden.auth.roles import Role
from tests.console.support import HTML, make_user, post_sign_in, sign_in
from tests.server import Env

PAYLOAD = "\"'><script>alert(1)</script><img src=x onerror=alert(2)>"
RAW = ("<script>alert(1)</script>", "<img src=x onerror")


def _clean(page: Any, where: str) -> None:
    assert page.status_code == 200, (where, page.status_code)
    for raw in RAW:
        assert raw not in page.text, f"{where} renders {raw!r} as markup"


def _stored(env: Env) -> int:
    """A publisher, an app and a determination whose text fields all carry the payload."""
    analyst = env.user("ana", Role.analyst)
    headers = env.headers(analyst)
    publisher = env.client.post(
        "/api/v1/publishers", json={"name": PAYLOAD, "jurisdiction": "CN"}, headers=headers
    )
    assert publisher.status_code == 201, publisher.text
    app = env.client.post(
        "/api/v1/apps",
        json={
            "platform": "android",
            "app_id": "com.example.xss",
            "name": PAYLOAD,
            "publisher_id": publisher.json()["id"],
        },
        headers=headers,
    )
    assert app.status_code == 201, app.text
    determination = env.client.post(
        "/api/v1/determinations",
        json={
            "title": PAYLOAD,
            "target": {"kind": "app", "app_id": "com.example.xss", "platform": "android"},
            "action": "ban",
            "scope": ["*"],
            "authority": PAYLOAD,
            "instrument": PAYLOAD,
            "rationale": PAYLOAD,
            "review_at": "2027-01-22T09:00:00Z",
            "expires_at": "2027-02-21T09:00:00Z",
        },
        headers=headers,
    )
    assert determination.status_code == 201, determination.text
    number: int = determination.json()["id"]
    return number


def test_app_and_decision_text_is_escaped_in_the_console(env: Env) -> None:
    number = _stored(env)
    make_user(env, "reader", Role.analyst)
    sign_in(env, "reader")
    for path in ("/apps", "/determinations", f"/determinations/{number}"):
        page = env.client.get(path, headers=HTML)
        _clean(page, path)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, f"{path} lacks the name"


def test_app_and_decision_text_is_escaped_in_the_vendor_notice(env: Env) -> None:
    number = _stored(env)
    token = env.user("reader", Role.auditor)
    page = env.client.get(
        f"/api/v1/determinations/{number}/notice.html", headers=env.headers(token)
    )
    _clean(page, "notice.html")
    markdown = env.client.get(
        f"/api/v1/determinations/{number}/notice.md", headers=env.headers(token)
    )
    assert markdown.status_code == 200
    assert "<script>" not in markdown.text  # Markdown renderers pass raw HTML through


def test_a_user_name_tried_at_sign_in_is_escaped_in_the_audit_page(env: Env) -> None:
    refused = post_sign_in(env.client, PAYLOAD, "wrong password, wrong")
    assert refused.status_code == 401
    env.client.cookies.clear()
    make_user(env, "aude", Role.auditor)
    sign_in(env, "aude")
    page = env.client.get("/audit", headers=HTML)
    _clean(page, "/audit")
    assert "auth.sign_in.refused" in page.text
