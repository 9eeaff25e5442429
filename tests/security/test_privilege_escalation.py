"""Privilege escalation through every REST route, table-driven from docs/permissions.md.

tests/test_permissions.py checks that each role is refused (403) where the matrix says
``no``. Here, on top: every non-public route refuses a request without a token, with a
made-up one and with an expired one (401), and every refusal, 401 or 403, is in the audit
chain with the route it was aimed at. The clock moves a minute between routes, so each
route's refusals fall in a window of their own (see appwarden.audit.refusals).
"""

from __future__ import annotations

import re
from datetime import timedelta

from appwarden.audit.refusals import PERMISSION_REFUSED, TOKEN_REFUSED
from appwarden.auth.roles import Role
from tests.security.support import refusals
from tests.server import Env
from tests.test_permissions import DEVICE, ROLES, load_matrix


def _protected() -> list[tuple[str, str, dict[str, bool]]]:
    rows = []
    for (method, path), row in sorted(load_matrix().items()):
        if isinstance(row, dict) and path.startswith("/api/"):
            rows.append((method, path, row))
    return rows


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "999999", path)


def test_the_table_has_every_protected_route() -> None:
    matrix = load_matrix()
    public = [key for key, row in matrix.items() if row == "public"]
    # Public on purpose: health, sign-in, and Apple MDM servers' webhook, which holds no
    # user token and is authenticated by its source's secret (tests/inventories).
    assert sorted(public) == [
        ("GET", "/healthz"),
        ("POST", "/api/v1/auth/token"),
        ("POST", "/api/v1/inventories/sources/{name}/webhook"),
    ]
    assert all(path.startswith("/v1/") for (_, path), row in matrix.items() if row == DEVICE)
    assert len(_protected()) >= 60


def test_every_protected_route_refuses_without_a_valid_token_and_audits_it(env: Env) -> None:
    stale = env.user("old", Role.admin)
    env.clock.advance(timedelta(days=31))  # past the token's 30 days
    for method, path, _row in _protected():
        target = _concrete(path)
        for credentials in (None, "aw_made_up", stale):
            headers = env.headers(credentials) if credentials else {}
            response = env.client.request(method, target, headers=headers, json={})
            assert response.status_code == 401, (method, path, credentials, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
        env.clock.advance(timedelta(minutes=1))
    audited = {e.object_id for e in refusals(env, TOKEN_REFUSED)}
    missing = {f"{m} {_concrete(p)}"[:64] for m, p, _ in _protected()} - audited
    assert not missing, f"401s not audited: {sorted(missing)}"
    assert env.audit_ok().ok


def test_every_refused_role_is_audited_on_every_route(env: Env) -> None:
    tokens = {role: env.user(f"user-{role}", Role(role)) for role in ROLES}
    expected: set[tuple[str, str]] = set()
    for method, path, row in _protected():
        for role, allowed in row.items():
            if allowed:
                continue
            target = _concrete(path)
            response = env.client.request(
                method, target, headers=env.headers(tokens[role]), json={}
            )
            assert response.status_code == 403, (role, method, path, response.text)
            expected.add((f"user-{role}", f"{method} {target}"[:64]))
        env.clock.advance(timedelta(minutes=1))
    events = refusals(env, PERMISSION_REFUSED)
    assert {(e.actor, e.object_id) for e in events} == expected
    for event in events:
        role = event.actor.removeprefix("user-")
        assert event.after["role"] == role
        assert event.after["reason"] == f"the {role} role lacks {event.after['permission']}"
    assert env.audit_ok().ok


def test_a_repeated_refusal_is_counted_in_the_next_event(env: Env) -> None:
    analyst = env.user("ana", Role.analyst)
    for _ in range(5):
        assert env.client.get("/api/v1/users", headers=env.headers(analyst)).status_code == 403
    env.clock.advance(timedelta(minutes=1))
    assert env.client.get("/api/v1/users", headers=env.headers(analyst)).status_code == 403
    events = refusals(env, PERMISSION_REFUSED)
    assert [e.after["repeats"] for e in events] == [0, 4]


def test_a_console_page_refused_to_a_role_is_audited(env: Env) -> None:
    from tests.console.support import HTML, make_user, sign_in

    make_user(env, "ana", Role.analyst)
    sign_in(env, "ana")
    page = env.client.get("/audit", headers=HTML)
    assert page.status_code == 403
    [event] = refusals(env, PERMISSION_REFUSED)
    assert (event.actor, event.object_type, event.object_id) == ("ana", "page", "GET /audit")
