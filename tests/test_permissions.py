"""The role × route matrix in docs/permissions.md is what the app enforces.

A route missing from the matrix, a matrix row for a route that does not exist, or a role
allowed where the matrix denies (or denied where it allows) fails. The check is made twice:
against each route's declared permission, and by calling every route as every role.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appwarden.app import create_app
from appwarden.auth.roles import GRANTS, Permission, Role
from appwarden.config import Settings
from tests.server import Env

DOC = Path(__file__).resolve().parents[1] / "docs" / "permissions.md"
ROLES = [role.value for role in Role]
_ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)` \| (.+) \|$")


DEVICE = "device"  # device-signed routes of the device protocol (/v1/…), not user permissions


def load_matrix() -> dict[tuple[str, str], dict[str, bool] | str]:
    """(method, path) → {role: allowed}, "public" or "device", from docs/permissions.md."""
    matrix: dict[tuple[str, str], dict[str, bool] | str] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line.strip())
        if not match:
            continue
        method, path, rest = match.groups()
        cells = [c.strip() for c in rest.split("|")]
        key = (method, path)
        assert key not in matrix, f"{method} {path} appears twice"
        if cells[0] in ("public", DEVICE):
            matrix[key] = cells[0]
            continue
        assert len(cells) == len(ROLES) + 1, f"{method} {path}: expected permission + 5 roles"
        matrix[key] = {role: cell == "yes" for role, cell in zip(ROLES, cells[1:], strict=True)}
    return matrix


def app_routes(tmp_path: Path) -> dict[tuple[str, str], str | None]:
    """(method, path) → declared permission (None for public, "device" for device-signed
    routes) of every route."""
    schema = create_app(Settings(data_dir=tmp_path, audit_key="k")).openapi()
    routes: dict[tuple[str, str], str | None] = {}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                device = operation.get("x-device") is True
                routes[(method.upper(), path)] = DEVICE if device else operation.get("x-permission")
    return routes


def test_matrix_covers_exactly_the_routes(tmp_path: Path) -> None:
    matrix, routes = load_matrix(), app_routes(tmp_path)
    assert set(routes) - set(matrix) == set(), "routes missing from docs/permissions.md"
    assert set(matrix) - set(routes) == set(), "docs/permissions.md lists routes that do not exist"


def test_matrix_matches_declared_permissions(tmp_path: Path) -> None:
    matrix = load_matrix()
    for key, permission in app_routes(tmp_path).items():
        row = matrix[key]
        if permission == DEVICE:
            assert row == DEVICE, f"{key}: the app serves it as a device-signed route"
            assert key[1].startswith("/v1/"), f"{key}: device routes live under /v1/"
            continue
        assert row != DEVICE, f"{key}: the matrix says device, the app does not"
        if permission is None:
            assert row == "public", f"{key}: the app serves it without a permission"
            continue
        assert row != "public", f"{key}: the matrix says public, the app requires {permission}"
        expected = {role.value: Permission(permission) in GRANTS[role] for role in Role}
        assert row == expected, f"{key}: matrix {row} != app {expected}"


def _call(env: Env, method: str, path: str, token: str) -> int:
    concrete = re.sub(r"\{[^}]+\}", "999999", path)
    response = env.client.request(method, concrete, headers=env.headers(token), json={})
    return response.status_code


@pytest.mark.slow
def test_every_role_on_every_route(env: Env) -> None:
    matrix = load_matrix()
    tokens = {role: env.user(f"user-{role}", Role(role)) for role in ROLES}
    for (method, path), row in matrix.items():
        if row in ("public", DEVICE) or not path.startswith("/api/"):
            continue
        assert isinstance(row, dict)
        for role, allowed in row.items():
            status = _call(env, method, path, tokens[role])
            if allowed:
                assert status not in (401, 403), f"{role} {method} {path}: {status}"
            else:
                assert status == 403, f"{role} {method} {path}: {status}, expected 403"
