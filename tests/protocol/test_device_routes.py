"""The hot device routes (GET /v1/policy, POST /v1/state) are served without FastAPI's
per-request machinery (protocol.v1.routing): they must answer bad input exactly as
FastAPI would have, in the same order (signature first), and stay documented."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from fastapi.routing import APIRoute

from appwarden.protocol.v1 import reports, views
from appwarden.protocol.v1.routing import DeviceRoute, arguments_of
from tests.compliance.support import TIKTOK, Phone, counts
from tests.decisions.support import actors, ok, problem
from tests.server import Env


def _route(env: Env, method: str, path: str) -> APIRoute:
    app: Any = env.client.app
    [route] = [
        r
        for r in app.router.routes
        if isinstance(r, APIRoute) and r.path == path and method in r.methods
    ]
    return route


@pytest.mark.parametrize(
    ("method", "path", "endpoint"),
    [("GET", "/v1/policy", views.policy), ("POST", "/v1/state", reports.report_state)],
)
def test_the_hot_routes_are_served_lean_from_the_apps_own_router(
    env: Env, method: str, path: str, endpoint: Any
) -> None:
    route = _route(env, method, path)
    assert isinstance(route, DeviceRoute) and route.endpoint is endpoint
    # Not FastAPI's request handler: the route's ASGI app is the lean one.
    assert "DeviceRoute._serve" in route.app.__qualname__


def test_the_lean_arguments_are_the_endpoints_parameters(env: Env) -> None:
    """Each hand-written reader gives its endpoint every parameter it declares, no more."""
    who = actors(env)
    phone = Phone(env, who)
    seen: dict[str, set[str]] = {}
    for path, method in (("/v1/policy", "GET"), ("/v1/state", "POST")):
        route = _route(env, method, path)
        original = route.endpoint

        async def spy(original: Any = original, **values: Any) -> Any:
            seen[original.__name__] = set(values)
            return await original(**values)

        arguments = arguments_of(original)
        assert arguments is not None
        route.app = DeviceRoute(path, spy, methods=[method])._serve(arguments)
    version = ok(phone.env.client.get("/v1/policy", headers=phone.signed("GET", "/v1/policy")))
    ok(phone.report({TIKTOK: None}, version=version["version"]))
    assert seen == {
        "policy": set(inspect.signature(views.policy).parameters),
        "report_state": set(inspect.signature(reports.report_state).parameters),
    }


def _get(phone: Phone, target: str, **headers: str) -> Any:
    return phone.env.client.get(target, headers=phone.signed("GET", target) | headers)


def test_bad_policy_parameters_are_422_where_fastapi_puts_them(env: Env) -> None:
    phone = Phone(env, actors(env))
    for wait in ("abc", "-1", "301", ""):
        body = problem(_get(phone, f"/v1/policy?wait={wait}"), 422, "invalid")
        assert body["errors"][0]["loc"] == ["query", "wait"], body
    long_tag = problem(_get(phone, "/v1/policy", **{"If-None-Match": "x" * 1001}), 422)
    assert long_tag["errors"][0]["loc"] == ["header", "if-none-match"]
    assert ok(_get(phone, "/v1/policy?wait=0&other=1"))["version"] >= 1


def test_an_unsigned_policy_request_is_401_before_its_parameters_are_read(env: Env) -> None:
    problem(env.client.get("/v1/policy?wait=abc"), 401, "unauthenticated")


def test_a_report_body_that_is_empty_or_not_declared_json_is_422_and_changes_nothing(
    env: Env,
) -> None:
    phone = Phone(env, actors(env))
    ok(phone.report({TIKTOK: None}))
    before = counts(env)
    good = json.dumps({"report_id": "r_12345678", "applied_version": 1}).encode()
    for body, content_type in [
        (b"", "application/json"),
        (good, "text/plain"),
        (good, None),
        (b"[1, 2]", "application/json"),
    ]:
        headers = phone.signed("POST", "/v1/state", body)
        if content_type:
            headers["Content-Type"] = content_type
        answer = problem(env.client.post("/v1/state", content=body, headers=headers), 422)
        assert answer["errors"][0]["loc"][0] == "body", answer
    assert counts(env) == before
    # JSON under a structured suffix is JSON (as FastAPI reads it), and is recorded.
    headers = phone.signed("POST", "/v1/state", good) | {"Content-Type": "application/x+json"}
    assert ok(env.client.post("/v1/state", content=good, headers=headers))["report_id"] == (
        "r_12345678"
    )
    assert counts(env) != before


def test_the_hot_routes_stay_documented(env: Env) -> None:
    document = env.client.get("/api/v1/openapi.json").json()
    policy = document["paths"]["/v1/policy"]["get"]
    names = {p["name"].lower() for p in policy["parameters"]}
    assert {"wait", "if-none-match"} <= names and policy["x-device"] is True
    state = document["paths"]["/v1/state"]["post"]
    schema = state["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/StateReport")
