"""Device groups: static members and attribute rules, what a device's groups are, refusals."""

from __future__ import annotations

from appwarden.fleet import membership, service
from appwarden.policy.model import DeviceInput
from tests.catalog.helpers import assert_problem
from tests.decisions.support import draft_body, seed_catalog
from tests.fleet.helpers import API, counts, create_group, enroll, issue_token
from tests.server import Env


def test_groups_of_is_static_members_and_rule_matches(env: Env, operator: str) -> None:
    staff = create_group(env, operator, name="Staff")
    ios_sup = create_group(
        env, operator, name="iOS supervised", rule={"platform": ["ios"], "supervised": True}
    )
    finance = create_group(
        env, operator, name="Finance", rule={"department": ["finance"], "ownership": ["corporate"]}
    )
    assert ios_sup["rule"] == {"platform": ["ios"], "supervised": True}
    clear = issue_token(env, operator, staff["id"], max_uses=3)
    phone = enroll(env, clear, platform="ios", supervised=True, department="Finance")
    byod = enroll(env, clear, platform="ios", ownership="byod", department="Finance")
    android = enroll(env, clear, platform="android", user_name="alice")
    with env.session() as session:
        names = {
            d: [
                g.name
                for g in membership.groups_of(session, service.get_device(session, device_id=d))
            ]
            for d in (phone, byod, android)
        }
    assert names == {
        phone: ["Finance", "Staff", "iOS supervised"],
        byod: ["Staff"],
        android: ["Staff"],
    }
    listed = env.client.get(
        f"{API}/devices", params={"group_id": finance["id"]}, headers=env.headers(operator)
    ).json()
    assert [d["id"] for d in listed["items"]] == [phone] and listed["total"] == 1
    # A static member added by hand joins even when no rule matches it.
    added = env.client.post(
        f"{API}/groups/{finance['id']}/members",
        json={"device_id": android},
        headers=env.headers(operator),
    )
    assert added.status_code == 201 and added.json()["static_members"] == 1
    detail = env.client.get(f"{API}/devices/{android}", headers=env.headers(operator)).json()
    assert detail["groups"] == ["Finance", "Staff"]
    assert detail["static_groups"] == ["Finance", "Staff"]
    removed = env.client.delete(
        f"{API}/groups/{finance['id']}/members/{android}", headers=env.headers(operator)
    )
    assert removed.status_code == 200 and removed.json()["static_members"] == 0
    again = env.client.delete(
        f"{API}/groups/{finance['id']}/members/{android}", headers=env.headers(operator)
    )
    assert_problem(again, 404, "not-found")
    assert env.audit_ok().ok


def test_device_input_for_the_policy_compiler(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Field staff")
    create_group(env, operator, name="Contractors", rule={"ownership": ["contractor"]})
    clear = issue_token(env, operator, group["id"])
    device_id = enroll(
        env, clear, platform="ios", ownership="contractor", supervised=True, user_name="bob"
    )
    with env.session() as session:
        made = membership.device_input(session, service.get_device(session, device_id=device_id))
    assert made == DeviceInput(
        device_id=device_id,
        platform="ios",
        ownership="contractor",
        supervised=True,
        user="bob",
        groups=("Contractors", "Field staff"),
    )


def test_rule_changes_move_devices_and_update_is_audited(env: Env, operator: str) -> None:
    staff = create_group(env, operator, name="Staff")
    clear = issue_token(env, operator, staff["id"], max_uses=2)
    android = enroll(env, clear, platform="android")
    ios = enroll(env, clear, platform="ios")
    mobile = create_group(env, operator, name="Mobile", rule={"platform": ["android"]})
    url = f"{API}/groups/{mobile['id']}"

    def members() -> list[str]:
        page = env.client.get(
            f"{API}/devices", params={"group_id": mobile["id"]}, headers=env.headers(operator)
        ).json()
        return [d["id"] for d in page["items"]]

    assert members() == [android]
    changed = env.client.patch(
        url, json={"rule": {"platform": ["android", "ios"]}}, headers=env.headers(operator)
    )
    assert changed.status_code == 200
    assert sorted(members()) == sorted([android, ios])
    cleared = env.client.patch(url, json={"rule": None}, headers=env.headers(operator))
    assert cleared.json()["rule"] is None and members() == []
    renamed = env.client.patch(url, json={"name": "Phones"}, headers=env.headers(operator))
    assert renamed.json()["name"] == "Phones"
    got = env.client.get(url, headers=env.headers(operator)).json()
    assert got["name"] == "Phones" and got["description"] == ""
    deleted = env.client.delete(url, headers=env.headers(operator))
    assert deleted.status_code == 204
    assert_problem(env.client.get(url, headers=env.headers(operator)), 404, "not-found")
    assert env.audit_ok().ok


def test_bad_groups_are_refused_and_change_nothing(env: Env, operator: str) -> None:
    create_group(env, operator, name="Staff")
    before = counts(env)
    bad = [
        ({"name": "*"}, 422),
        ({"name": " * "}, 422),
        ({"name": ""}, 422),
        ({"name": "x", "rule": {}}, 422),
        ({"name": "x", "rule": {"platform": ["windows"]}}, 422),
        ({"name": "x", "rule": {"colour": ["red"]}}, 422),
        ({"name": "x", "surprise": 1}, 422),
        ({"name": "staff"}, 409),
    ]
    for body, code in bad:
        response = env.client.post(f"{API}/groups", json=body, headers=env.headers(operator))
        assert_problem(response, code)
    assert counts(env) == before
    missing = [
        env.client.get(f"{API}/groups/999", headers=env.headers(operator)),
        env.client.patch(f"{API}/groups/999", json={}, headers=env.headers(operator)),
        env.client.delete(f"{API}/groups/999", headers=env.headers(operator)),
        env.client.post(
            f"{API}/groups/999/members", json={"device_id": "x"}, headers=env.headers(operator)
        ),
        env.client.get(f"{API}/devices", params={"group_id": 999}, headers=env.headers(operator)),
    ]
    for response in missing:
        assert_problem(response, 404, "not-found")
    assert_problem(
        env.client.get(f"{API}/groups/abc", headers=env.headers(operator)), 422, "invalid"
    )


def test_idempotent_create(env: Env, operator: str) -> None:
    headers = env.headers(operator) | {"Idempotency-Key": "group-1"}
    first = env.client.post(f"{API}/groups", json={"name": "Staff"}, headers=headers)
    again = env.client.post(f"{API}/groups", json={"name": "Staff"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replay"] == "true"
    other = env.client.post(f"{API}/groups", json={"name": "Other"}, headers=headers)
    assert_problem(other, 422, "invalid")
    listed = env.client.get(f"{API}/groups", headers=env.headers(operator)).json()
    assert listed["total"] == 1


def test_analyst_reads_but_cannot_manage_the_fleet(env: Env, operator: str, analyst: str) -> None:
    group = create_group(env, operator, name="Staff")
    before = counts(env)
    refused = [
        env.client.post(f"{API}/groups", json={"name": "Mine"}, headers=env.headers(analyst)),
        env.client.patch(
            f"{API}/groups/{group['id']}", json={"name": "Mine"}, headers=env.headers(analyst)
        ),
        env.client.delete(f"{API}/groups/{group['id']}", headers=env.headers(analyst)),
        env.client.post(
            f"{API}/enrollment-tokens", json={"group_id": group["id"]}, headers=env.headers(analyst)
        ),
        env.client.post(f"{API}/devices/dev_x/retire", headers=env.headers(analyst)),
    ]
    for response in refused:
        assert_problem(response, 403, "forbidden")
    assert counts(env) == before
    assert env.client.get(f"{API}/groups", headers=env.headers(analyst)).status_code == 200
    assert env.client.get(f"{API}/devices", headers=env.headers(analyst)).status_code == 200
    assert env.client.get(f"{API}/groups").status_code == 401


def test_a_group_named_by_a_live_determination_keeps_its_name(
    env: Env, operator: str, analyst: str
) -> None:
    staff = create_group(env, operator, name="Staff")
    drafted = env.client.post(
        f"{API}/determinations",
        json=draft_body(seed_catalog(env), scope=["Staff"]),
        headers=env.headers(analyst),
    )
    assert drafted.status_code == 201, drafted.text
    before = counts(env)
    url = f"{API}/groups/{staff['id']}"
    renamed = env.client.patch(url, json={"name": "Crew"}, headers=env.headers(operator))
    assert "renaming it would change" in assert_problem(renamed, 409, "conflict")["detail"]
    assert_problem(env.client.delete(url, headers=env.headers(operator)), 409, "conflict")
    assert counts(env) == before
    described = env.client.patch(url, json={"description": "all"}, headers=env.headers(operator))
    assert described.status_code == 200 and described.json()["name"] == "Staff"
