"""Publishers: affiliates (a ban on a publisher covers them), domains, and refusals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from appwarden.auth.roles import Role
from appwarden.catalog.models import Publisher
from appwarden.catalog.service import family_ids, lineage_ids
from tests.catalog.helpers import API, assert_problem, counts
from tests.server import Env


def create(env: Env, token: str, **body: Any) -> dict[str, Any]:
    response = env.client.post(f"{API}/publishers", json=body, headers=env.headers(token))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_create_with_domains_normalised(env: Env, analyst: str) -> None:
    body = create(
        env,
        analyst,
        name="  ByteDance   Ltd ",
        jurisdiction="cn",
        domains=["ByteDance.com.", "tiktok.com", "tiktok.com"],
    )
    assert body["name"] == "ByteDance Ltd" and body["jurisdiction"] == "CN"
    assert body["domains"] == ["bytedance.com", "tiktok.com"]
    assert body["family_ids"] == [body["id"]] and body["parent"] is None
    got = env.client.get(f"{API}/publishers/{body['id']}", headers=env.headers(analyst))
    assert got.json() == body
    assert env.audit_ok().ok


def test_affiliates_transitively(env: Env, analyst: str) -> None:
    bytedance = create(env, analyst, name="ByteDance", jurisdiction="CN")
    tiktok = create(env, analyst, name="TikTok Pte", jurisdiction="SG", parent_id=bytedance["id"])
    lemon = create(env, analyst, name="Lemon Inc", jurisdiction="US", parent_id=tiktok["id"])
    other = create(env, analyst, name="Kaspersky", jurisdiction="RU")
    detail = env.client.get(
        f"{API}/publishers/{bytedance['id']}", headers=env.headers(analyst)
    ).json()
    assert detail["family_ids"] == sorted([bytedance["id"], tiktok["id"], lemon["id"]])
    assert [a["name"] for a in detail["affiliates"]] == ["TikTok Pte"]  # direct ones
    assert lemon["parent"] == {"id": tiktok["id"], "name": "TikTok Pte"}
    with env.session() as session:
        assert family_ids(session, tiktok["id"]) == {tiktok["id"], lemon["id"]}
        assert family_ids(session, other["id"]) == {other["id"]}
        assert lineage_ids(session, lemon["id"]) == {lemon["id"], tiktok["id"], bytedance["id"]}
        assert family_ids(session, 9999) == set()


def test_a_cycle_is_refused(env: Env, analyst: str) -> None:
    parent = create(env, analyst, name="Parent", jurisdiction="CN")
    child = create(env, analyst, name="Child", jurisdiction="CN", parent_id=parent["id"])
    grandchild = create(env, analyst, name="Grandchild", jurisdiction="CN", parent_id=child["id"])
    before = counts(env)
    for candidate in (grandchild["id"], parent["id"]):
        refused = env.client.put(
            f"{API}/publishers/{parent['id']}/parent",
            json={"parent_id": candidate},
            headers=env.headers(analyst),
        )
        assert "cycle" in assert_problem(refused, 409, "conflict")["detail"]
    assert counts(env) == before
    moved = env.client.put(
        f"{API}/publishers/{grandchild['id']}/parent",
        json={"parent_id": parent["id"]},
        headers=env.headers(analyst),
    )
    assert moved.status_code == 200 and moved.json()["parent_id"] == parent["id"]
    freed = env.client.put(
        f"{API}/publishers/{child['id']}/parent",
        json={"parent_id": None},
        headers=env.headers(analyst),
    )
    assert freed.json()["parent"] is None
    assert env.audit_ok().ok


def test_family_ids_survive_a_cycle_written_to_the_database(env: Env, analyst: str) -> None:
    a = create(env, analyst, name="A", jurisdiction="CN")
    b = create(env, analyst, name="B", jurisdiction="CN", parent_id=a["id"])
    with env.session() as session, session.begin():
        session.execute(update(Publisher).where(Publisher.id == a["id"]).values(parent_id=b["id"]))
    with env.session() as session:
        assert family_ids(session, a["id"]) == {a["id"], b["id"]}
        assert lineage_ids(session, b["id"]) == {a["id"], b["id"]}


def test_domains_added_and_removed(env: Env, analyst: str) -> None:
    kaspersky = create(env, analyst, name="Kaspersky", jurisdiction="RU")
    url = f"{API}/publishers/{kaspersky['id']}/domains"
    added = env.client.post(url, json={"domain": "Kaspersky.COM"}, headers=env.headers(analyst))
    assert added.status_code == 201 and added.json()["domains"] == ["kaspersky.com"]
    again = env.client.post(url, json={"domain": "kaspersky.com"}, headers=env.headers(analyst))
    assert_problem(again, 409, "conflict")
    for bad in ("not a domain", "localhost", "1.2.3.4", "-x.com", "a" * 64 + ".com"):
        refused = env.client.post(url, json={"domain": bad}, headers=env.headers(analyst))
        assert_problem(refused, 422, "invalid")
    removed = env.client.delete(f"{url}/KASPERSKY.com", headers=env.headers(analyst))
    assert removed.status_code == 200 and removed.json()["domains"] == []
    gone = env.client.delete(f"{url}/kaspersky.com", headers=env.headers(analyst))
    assert_problem(gone, 404, "not-found")
    found = env.client.get(f"{API}/publishers?q=kaspersky", headers=env.headers(analyst))
    assert [p["name"] for p in found.json()["items"]] == ["Kaspersky"]


def test_list_search_and_pagination(env: Env, analyst: str) -> None:
    for index in range(5):
        create(env, analyst, name=f"Vendor {index}", jurisdiction="DE")
    create(env, analyst, name="ByteDance", jurisdiction="CN", domains=["douyin.com"])
    page = env.client.get(f"{API}/publishers?limit=2&offset=2", headers=env.headers(analyst)).json()
    assert page["total"] == 6 and [p["name"] for p in page["items"]] == ["Vendor 2", "Vendor 3"]
    by_domain = env.client.get(f"{API}/publishers?q=DOUYIN", headers=env.headers(analyst)).json()
    assert [p["name"] for p in by_domain["items"]] == ["ByteDance"]
    literal = env.client.get(f"{API}/publishers?q=%25", headers=env.headers(analyst)).json()
    assert literal["total"] == 0  # % is a character here, not a wildcard


def test_patch_renames_and_audits(env: Env, analyst: str) -> None:
    created = create(env, analyst, name="Old", jurisdiction="CN")
    create(env, analyst, name="Taken", jurisdiction="CN")
    url = f"{API}/publishers/{created['id']}"
    renamed = env.client.patch(
        url, json={"name": "New", "jurisdiction": "HK"}, headers=env.headers(analyst)
    )
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["jurisdiction"]) == ("New", "HK")
    clash = env.client.patch(url, json={"name": "taken"}, headers=env.headers(analyst))
    assert_problem(clash, 409, "conflict")
    trail = env.client.get(
        f"{API}/audit/events?object_type=publisher&object_id={created['id']}",
        headers=env.headers(env.user("aud", Role.auditor)),
    ).json()
    actions = [e["action"] for e in trail["items"]]
    assert actions == ["publisher.create", "publisher.update"]
    assert trail["items"][1]["before"]["name"] == "Old"
    assert trail["items"][1]["after"]["name"] == "New"


def test_refusals(env: Env, analyst: str) -> None:
    headers = env.headers(analyst)
    before = counts(env)
    assert_problem(env.client.get(f"{API}/publishers/999", headers=headers), 404, "not-found")
    for body in (
        {"name": "X", "jurisdiction": "XX"},  # not an ISO country
        {"name": "X"},  # missing jurisdiction
        {"name": "", "jurisdiction": "CN"},
        {"name": "X", "jurisdiction": "CN", "colour": "red"},  # unknown field
        {"name": "X", "jurisdiction": "CN", "domains": ["nope"]},
    ):
        response = env.client.post(f"{API}/publishers", json=body, headers=headers)
        assert_problem(response, 422, "invalid")
    unknown_parent = {"name": "X", "jurisdiction": "CN", "parent_id": 999}
    response = env.client.post(f"{API}/publishers", json=unknown_parent, headers=headers)
    assert_problem(response, 404, "not-found")
    garbage = env.client.post(
        f"{API}/publishers",
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert_problem(garbage, 422, "invalid")
    for path in ("/999", "/999/parent", "/999/domains"):
        method = {"/999": "PATCH", "/999/parent": "PUT", "/999/domains": "POST"}[path]
        body = {"/999": {"name": "Y"}, "/999/parent": {"parent_id": None}}.get(
            path, {"domain": "example.com"}
        )
        response = env.client.request(method, f"{API}/publishers{path}", json=body, headers=headers)
        assert_problem(response, 404, "not-found")
    create(env, analyst, name="Once", jurisdiction="CN")
    duplicate = env.client.post(
        f"{API}/publishers", json={"name": "ONCE", "jurisdiction": "CN"}, headers=headers
    )
    assert_problem(duplicate, 409, "conflict")
    assert counts(env)["publishers"] == before["publishers"] + 1


def test_idempotent_create(env: Env, analyst: str) -> None:
    headers = {**env.headers(analyst), "Idempotency-Key": "p-1"}
    body = {"name": "ByteDance", "jurisdiction": "CN"}
    first = env.client.post(f"{API}/publishers", json=body, headers=headers)
    retry = env.client.post(f"{API}/publishers", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert counts(env)["publishers"] == 1
    changed = env.client.post(
        f"{API}/publishers", json={**body, "jurisdiction": "SG"}, headers=headers
    )
    assert_problem(changed, 422, "invalid")
