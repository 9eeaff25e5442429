"""Rate limits on sign-in (API and console) and on enrollment, and CSRF on console forms:
each refused attempt fails and is in the audit chain."""

from __future__ import annotations

import re
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.routing import APIRoute

from appwarden.audit.refusals import CSRF_REFUSED, ENROLLMENT_REFUSED, SIGN_IN_REFUSED
from appwarden.auth.roles import Role
from appwarden.console.pages import ROUTERS
from tests.catalog.helpers import assert_problem
from tests.console.support import HTML, make_user, post_sign_in, sign_in
from tests.fleet.helpers import create_group, issue_token
from tests.security.support import enroll, refusals
from tests.server import PASSWORD, Env


def _sign_in(env: Env, username: str, password: str) -> int:
    body = {"username": username, "password": password}
    return env.client.post("/api/v1/auth/token", json=body).status_code


def test_api_sign_in_is_rate_limited_and_every_failure_audited(env: Env) -> None:
    env.settings.sign_in_limit = 3
    make_user(env, "ana", Role.analyst)
    statuses = []
    for _ in range(3):
        statuses.append(_sign_in(env, "ana", "wrong password!"))
        env.clock.advance(timedelta(minutes=1))  # each failure in its own audit window
    statuses.append(_sign_in(env, "ana", PASSWORD))  # right, but too late
    assert statuses == [401, 401, 401, 429]
    events = refusals(env, SIGN_IN_REFUSED)
    assert [(e.actor, e.object_id, e.after["via"]) for e in events] == [("ana", "ana", "api")] * 4
    assert [e.after["reason"] for e in events] == ["wrong credentials"] * 3 + [
        "too many failed sign-ins"
    ]
    env.clock.advance(timedelta(minutes=15))
    assert _sign_in(env, "ana", PASSWORD) == 201
    assert env.audit_ok().ok


def test_failures_within_a_minute_are_counted_in_the_next_event(env: Env) -> None:
    make_user(env, "ana", Role.analyst)
    for _ in range(3):
        assert _sign_in(env, "ana", "wrong password!") == 401
    assert len(refusals(env, SIGN_IN_REFUSED)) == 1
    env.clock.advance(timedelta(minutes=1))
    assert _sign_in(env, "ana", "wrong password!") == 401
    assert [e.after["repeats"] for e in refusals(env, SIGN_IN_REFUSED)] == [0, 2]


def test_a_spray_of_user_names_is_capped_per_minute(env: Env) -> None:
    for n in range(70):
        assert _sign_in(env, f"guess{n}", "wrong password!") == 401
    assert len(refusals(env, SIGN_IN_REFUSED)) == 60  # PER_WINDOW
    env.clock.advance(timedelta(minutes=1))
    assert _sign_in(env, "guess-late", "wrong password!") == 401
    late = refusals(env, SIGN_IN_REFUSED)[-1]
    assert (late.actor, late.after["others"]) == ("guess-late", 10)


def test_console_sign_in_is_rate_limited_and_audited(env: Env) -> None:
    env.settings.sign_in_limit = 2
    make_user(env, "ana", Role.analyst)
    assert post_sign_in(env.client, "ana", "wrong password!").status_code == 401
    env.clock.advance(timedelta(minutes=1))
    assert post_sign_in(env.client, "ana", "wrong password!").status_code == 401
    env.clock.advance(timedelta(minutes=1))
    assert post_sign_in(env.client, "ana").status_code == 429
    events = refusals(env, SIGN_IN_REFUSED)
    assert [e.after["via"] for e in events] == ["console"] * 3
    assert events[-1].after["reason"] == "too many failed sign-ins"


def test_enrollment_is_rate_limited_and_audited(env: Env) -> None:
    env.settings.enroll_limit = 2
    operator = env.user("ops", Role.operator)
    group = create_group(env, operator, name="Staff")
    token = issue_token(env, operator, group["id"], max_uses=10)
    assert enroll(env, token, Ed25519PrivateKey.generate()).status_code == 201
    assert enroll(env, token, Ed25519PrivateKey.generate()).status_code == 201
    assert_problem(enroll(env, token, Ed25519PrivateKey.generate()), 429, "rate-limited")
    [event] = refusals(env, ENROLLMENT_REFUSED)
    assert event.after["status"] == 429
    assert event.actor == f"address:{event.after['address']}"


def _console_changes() -> list[tuple[str, str]]:
    return sorted(
        (method, re.sub(r"\{[^}]+\}", "1", route.path))
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods - {"GET", "HEAD"}
    )


def test_every_csrf_refusal_is_audited(env: Env) -> None:
    """tests/console/test_console_csrf.py shows each form refused without its token; here,
    each refusal is audited with the route it was aimed at."""
    make_user(env, "aude", Role.auditor)
    sign_in(env, "aude")
    routes = _console_changes()
    for method, path in routes:
        forged = env.client.request(method, path, data={"csrf_token": "0" * 64}, headers=HTML)
        assert forged.status_code == 403, (method, path)
        env.clock.advance(timedelta(minutes=1))
    events = refusals(env, CSRF_REFUSED)
    assert [e.object_id for e in events] == [f"{m} {p}" for m, p in routes]
    assert all(e.after["reason"] == "wrong token" and e.after["signed_in"] for e in events)
    assert env.audit_ok().ok
