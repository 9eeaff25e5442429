"""The API fuzzer (bench/fuzz_api.py) in small, and what it found, one test per finding.

Every finding was a request the server answered with a 500 or with a status its OpenAPI
document does not declare; each is now refused as invalid (422) and changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from _api_fuzzing import fuzz
from appwarden.api.ids import MAX_ID
from appwarden.auth.roles import Role
from fuzz_api import role_tokens, seed
from tests.server import Env

HUGE = 220263717119041538814377984  # drawn by schemathesis: past any integer column
NOT_UTF8 = b"\x8b\x14"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


@pytest.mark.slow
def test_every_operation_as_every_role_conforms(env: Env) -> None:
    tokens = role_tokens(env.client)
    made = seed(env.client, tokens)
    assert set(made.values()) == {201}, made
    run = fuzz(client=env.client, tokens=tokens, examples=3, seed=0)
    assert set(run.roles) == {role.value for role in Role}
    for role, stats in run.roles.items():
        assert stats.operations >= 60, role
        assert stats.cases >= stats.operations, role
    assert not run.findings, "\n".join(
        f"{f.operation} as {f.role}: {f.check}: {f.message}\n  {f.example}"
        for f in run.findings.values()
    )


@pytest.mark.parametrize(
    "path",
    ["/api/v1/publishers", "/api/v1/determinations", "/api/v1/determinations/due-for-review"],
)
def test_an_offset_past_the_database_integer_is_invalid(env: Env, path: str) -> None:
    token = env.user("ana", Role.analyst)
    response = env.client.get(path, params={"offset": HUGE}, headers=env.headers(token))
    body = _problem(response, 422)
    assert "offset" in body["detail"]
    fine = env.client.get(path, params={"offset": MAX_ID}, headers=env.headers(token))
    assert fine.status_code == 200
    assert fine.json()["items"] == []


@pytest.mark.parametrize("number", [HUGE, MAX_ID + 1, 0, -1])
def test_an_id_out_of_range_in_a_path_is_invalid(env: Env, number: int) -> None:
    token = env.user("ana", Role.analyst)
    created = env.client.post(
        "/api/v1/publishers",
        json={"name": "Acme", "jurisdiction": "CA"},
        headers=env.headers(token),
    )
    assert created.status_code == 201
    response = env.client.patch(
        f"/api/v1/publishers/{number}", json={"name": "h"}, headers=env.headers(token)
    )
    _problem(response, 422)
    listed = env.client.get("/api/v1/publishers", headers=env.headers(token)).json()
    assert [p["name"] for p in listed["items"]] == ["Acme"]
    missing = env.client.get(f"/api/v1/publishers/{MAX_ID}", headers=env.headers(token))
    _problem(missing, 404)


def test_an_id_out_of_range_in_a_body_is_invalid(env: Env) -> None:
    token = env.user("ana", Role.analyst)
    body = {"platform": "android", "app_id": "com.example.x", "name": "X", "publisher_id": HUGE}
    response = env.client.post("/api/v1/apps", json=body, headers=env.headers(token))
    assert "publisher_id" in _problem(response, 422)["detail"]
    listed = env.client.get("/api/v1/apps", headers=env.headers(token)).json()
    assert listed["total"] == 0


@pytest.mark.parametrize("path", ["/api/v1/apps", "/api/v1/auth/token", "/v1/state"])
def test_a_body_that_is_not_utf8_is_invalid(env: Env, path: str) -> None:
    token = env.user("ana", Role.analyst)
    response = env.client.post(
        path,
        content=NOT_UTF8,
        headers=env.headers(token) | {"content-type": "application/json"},
    )
    body = _problem(response, 422)
    assert "could not be parsed" in body["detail"]
    listed = env.client.get("/api/v1/apps", headers=env.headers(token)).json()
    assert listed["total"] == 0


def test_an_upload_that_is_not_multipart_is_invalid(env: Env) -> None:
    token = env.user("ana", Role.analyst)
    response = env.client.post(
        "/api/v1/apps/upload",
        content=b"--x\r\nnot a form",
        headers=env.headers(token) | {"content-type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 422, response.text
    assert env.client.get("/api/v1/apps", headers=env.headers(token)).json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "role", "body"),
    [
        ("/api/v1/groups", Role.operator, {"name": "\u00cfR"}),
        ("/api/v1/publishers", Role.analyst, {"name": "\u00d6lfirma", "jurisdiction": "DE"}),
    ],
)
def test_a_duplicate_name_outside_ascii_is_a_conflict(
    env: Env, path: str, role: Role, body: dict[str, str]
) -> None:
    """Found as a 500 on POST /api/v1/groups: SQLite's lower() folds ASCII only, so the
    duplicate check missed "ÏR" and the insert hit the unique constraint."""
    token = env.user("someone", role)
    assert env.client.post(path, json=body, headers=env.headers(token)).status_code == 201
    again = env.client.post(path, json=body, headers=env.headers(token))
    assert "already exists" in _problem(again, 409)["detail"]
    listed = env.client.get(path, headers=env.headers(token)).json()
    assert listed["total"] == 1
