"""Apps: created by hand or by upload, filtered, edited; every route declared."""

from __future__ import annotations

from typing import Any

from appwarden.auth.roles import Role
from tests.catalog.helpers import API, URZIP, assert_problem, counts, upload_fixture
from tests.server import Env


def post(env: Env, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = env.client.post(f"{API}{path}", json=body, headers=env.headers(token))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def app_body(platform: str, app_id: str, name: str, publisher: int | None = None) -> dict[str, Any]:
    return {"platform": platform, "app_id": app_id, "name": name, "publisher_id": publisher}


def bytedance_family(env: Env, token: str) -> tuple[int, int, dict[str, Any]]:
    """ByteDance, its affiliate TikTok Ltd, and three apps between them."""
    bytedance = post(env, token, "/publishers", {"name": "ByteDance", "jurisdiction": "CN"})
    tiktok_ltd = post(
        env,
        token,
        "/publishers",
        {"name": "TikTok Ltd", "jurisdiction": "SG", "parent_id": bytedance["id"]},
    )
    tiktok = post(
        env,
        token,
        "/apps",
        app_body("android", "com.zhiliaoapp.musically", "TikTok", tiktok_ltd["id"]),
    )
    post(env, token, "/apps", app_body("ios", "com.zhiliaoapp.musically", "TikTok"))
    post(env, token, "/apps", app_body("android", "com.capcut", "CapCut", bytedance["id"]))
    return bytedance["id"], tiktok_ltd["id"], tiktok


def test_list_filters(env: Env, analyst: str) -> None:
    bytedance, _tiktok_ltd, tiktok = bytedance_family(env, analyst)
    assert tiktok["latest_assessment"] is None and tiktok["signers"] == []
    headers = env.headers(analyst)

    def ids(query: str) -> list[str]:
        page = env.client.get(f"{API}/apps?{query}", headers=headers).json()
        return [f"{a['platform']}:{a['app_id']}" for a in page["items"]]

    musically = ["android:com.zhiliaoapp.musically", "ios:com.zhiliaoapp.musically"]
    assert ids("q=MUSICALLY") == musically
    assert ids("platform=ios") == ["ios:com.zhiliaoapp.musically"]
    assert ids(f"publisher_id={bytedance}") == ["android:com.capcut"]
    family = ids(f"publisher_id={bytedance}&include_affiliates=true")
    assert family == ["android:com.zhiliaoapp.musically", "android:com.capcut"]
    assert ids("limit=1&offset=2") == ["android:com.capcut"]
    assert_problem(env.client.get(f"{API}/apps?platform=windows", headers=headers), 422)


def test_edit(env: Env, analyst: str) -> None:
    _bytedance, tiktok_ltd, tiktok = bytedance_family(env, analyst)
    headers = env.headers(analyst)
    url = f"{API}/apps/{tiktok['id']}"
    renamed = env.client.patch(url, json={"name": "TikTok (global)"}, headers=headers).json()
    assert renamed["name"] == "TikTok (global)" and renamed["publisher_id"] == tiktok_ltd
    unset = env.client.patch(url, json={"publisher_id": None}, headers=headers).json()
    assert unset["publisher_id"] is None and unset["publisher"] is None
    assert_problem(env.client.patch(url, json={"publisher_id": 999}, headers=headers), 404)
    assert_problem(env.client.patch(url, json={"name": ""}, headers=headers), 422)
    assert env.audit_ok().ok


def test_refusals(env: Env, analyst: str) -> None:
    headers = env.headers(analyst)
    post(env, analyst, "/apps", {"platform": "android", "app_id": "com.a", "name": "A"})
    before = counts(env)
    duplicate = {"platform": "android", "app_id": "com.a", "name": "Again"}
    response = env.client.post(f"{API}/apps", json=duplicate, headers=headers)
    assert_problem(response, 409, "conflict")
    for body in (
        {"platform": "symbian", "app_id": "com.b", "name": "B"},
        {"platform": "android", "app_id": "com b", "name": "B"},
        {"platform": "android", "name": "B"},
    ):
        assert_problem(env.client.post(f"{API}/apps", json=body, headers=headers), 422)
    unknown = {"platform": "android", "app_id": "com.b", "name": "B", "publisher_id": 42}
    assert_problem(env.client.post(f"{API}/apps", json=unknown, headers=headers), 404)
    assert_problem(env.client.get(f"{API}/apps/999", headers=headers), 404, "not-found")
    assert_problem(env.client.get(f"{API}/apps/abc", headers=headers), 422, "invalid")
    assert_problem(env.client.patch(f"{API}/apps/999", json={}, headers=headers), 404)
    assert_problem(env.client.get(f"{API}/apps/999/assessments", headers=headers), 404)
    assert_problem(env.client.get(f"{API}/assessments/999", headers=headers), 404)
    assert_problem(env.client.get(f"{API}/assessments/999/report.html", headers=headers), 404)
    assert counts(env) == before


def test_upload_then_assign_publisher(env: Env, analyst: str) -> None:
    body = upload_fixture(env, analyst, URZIP).json()
    publisher = post(env, analyst, "/publishers", {"name": "Guardian", "jurisdiction": "US"})
    again = upload_fixture(env, analyst, URZIP, publisher_id=publisher["id"]).json()
    assert again["app"]["publisher_id"] == publisher["id"]
    trail = env.client.get(
        f"{API}/audit/events?object_type=app&object_id={body['app']['id']}",
        headers=env.headers(env.user("aud", Role.auditor)),
    ).json()
    assert [e["action"] for e in trail["items"]] == ["app.create", "app.update"]


def test_every_catalog_route_declares_permission_and_problems(env: Env) -> None:
    spec = env.client.get(f"{API}/openapi.json").json()
    seen = 0
    for path, operations in spec["paths"].items():
        if not path.startswith((f"{API}/publishers", f"{API}/apps", f"{API}/assessments")):
            continue
        for method, operation in operations.items():
            seen += 1
            expected = "read" if method == "get" else "vet"
            assert operation["x-permission"] == expected, (method, path)
            assert {"401", "403", "422"} <= set(operation["responses"]), (method, path)
            if "{" in path:
                assert "404" in operation["responses"], (method, path)
    assert seen == 15
