"""Oversized bodies on every route that takes one: refused with 413 before the body is
read whole or parsed (declared by Content-Length or streamed in chunks), changing nothing.
JSON and form routes are capped at ``body_max_bytes``, uploads at ``upload_max_bytes``,
MDM inventories at ``inventory_max_bytes`` (in base64, with its event, through an MDM's webhook);
a route that takes no body never reads one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from appwarden.app import create_app
from appwarden.auth.roles import Role
from appwarden.config import Settings
from tests.catalog.helpers import counts as catalog_counts
from tests.fleet.helpers import counts as fleet_counts
from tests.server import Env
from tests.test_permissions import load_matrix

LIMIT = 1024 * 1024  # the default body_max_bytes
UPLOADS = {"/api/v1/apps/upload"}
#: Partner lists: capped at ``partner_list_max_bytes`` (docs/partners.md).
PARTNER_LISTS = {"/api/v1/partner-lists/import", "/api/v1/partner-lists/compare"}
#: MDM webhooks: an inventory in base64 (4/3 of its size) and 64 KiB of event around it.
WEBHOOKS = {"/api/v1/inventories/sources/{name}/webhook"}


def _routes_with_bodies() -> list[tuple[str, str]]:
    schema = create_app(Settings(data_dir=Path("/nonexistent"), audit_key="k")).openapi()
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("post", "put", "patch", "delete") and "requestBody" in operation
    )


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


def _everything(env: Env) -> dict[str, int]:
    return fleet_counts(env) | catalog_counts(env)


def _allowed_token(env: Env, tokens: dict[str, str], method: str, path: str) -> dict[str, str]:
    row = load_matrix()[(method, path)]
    if not isinstance(row, dict):
        return {}
    role = next(r for r, allowed in row.items() if allowed)
    return env.headers(tokens[role])


def test_every_route_with_a_body_refuses_an_oversized_one(env: Env) -> None:
    env.settings.upload_max_bytes = 2 * LIMIT  # small enough to send in a test
    env.settings.partner_list_max_bytes = 2 * LIMIT
    env.settings.inventory_max_bytes = LIMIT  # MDM inventories have their own ceiling
    tokens = {role.value: env.user(f"u-{role.value}", role) for role in Role}
    routes = _routes_with_bodies()
    assert len(routes) >= 30
    before = _everything(env)
    for method, path in routes:
        target = re.sub(r"\{[^}]+\}", "1", path)
        size = (3 * LIMIT + 70 * 1024) if path in UPLOADS else LIMIT + 1
        size = 2 * LIMIT + 1 if path in PARTNER_LISTS else size
        size = 4 * LIMIT // 3 + 64 * 1024 + 8 if path in WEBHOOKS else size
        headers = _allowed_token(env, tokens, method, path) | {"content-type": "application/json"}
        response = env.client.request(method, target, content=b"x" * size, headers=headers)
        assert response.status_code == 413, (method, path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "larger than" in response.json()["detail"]
    assert _everything(env) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/publishers"), ("POST", "/v1/enroll"), ("POST", "/api/v1/auth/token")],
)
def test_a_streamed_body_is_cut_off_at_the_limit(env: Env, method: str, path: str) -> None:
    token = env.user("ana", Role.analyst)
    before = _everything(env)
    response = env.client.request(
        method,
        path,
        content=_chunks(LIMIT + 64 * 1024),
        headers=env.headers(token) | {"content-type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert _everything(env) == before


def test_a_body_at_the_limit_is_read(env: Env) -> None:
    token = env.user("ana", Role.analyst)
    padding = LIMIT - len('{"name": "Acme", "jurisdiction": "CA", "domains": [], "x": ""}')
    body = '{"name": "Acme", "jurisdiction": "CA", "domains": [], "x": "' + "y" * padding + '"}'
    assert len(body) == LIMIT
    response = env.client.post(
        "/api/v1/publishers",
        content=body.encode(),
        headers=env.headers(token) | {"content-type": "application/json"},
    )
    assert response.status_code == 422  # read and parsed: the unknown field is refused
    assert "x" in response.json()["detail"]


def test_console_forms_refuse_an_oversized_body(env: Env) -> None:
    response = env.client.post(
        "/sign-in",
        content=b"username=" + b"a" * LIMIT,
        headers={"content-type": "application/x-www-form-urlencoded", "accept": "text/html"},
    )
    assert response.status_code == 413
    assert "<html" in response.text.lower()  # the console's own error page
