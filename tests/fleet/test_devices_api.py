"""Devices: list with filters, detail with groups, lifecycle (retire, lost, revoke key)."""

from __future__ import annotations

from sqlalchemy import select

from appwarden.audit.models import AuditEvent
from tests.catalog.helpers import assert_problem
from tests.fleet.helpers import API, counts, create_group, enroll, issue_token
from tests.server import Env


def test_list_filters(env: Env, operator: str) -> None:
    staff = create_group(env, operator, name="Staff")
    clear = issue_token(env, operator, staff["id"], max_uses=10)
    a = enroll(env, clear, platform="android", ownership="corporate")
    b = enroll(env, clear, platform="ios", ownership="byod")
    c = enroll(env, clear, platform="ios", ownership="contractor")
    env.client.post(f"{API}/devices/{c}/lost", headers=env.headers(operator))

    def ids(**params: str) -> list[str]:
        response = env.client.get(f"{API}/devices", params=params, headers=env.headers(operator))
        assert response.status_code == 200, response.text
        return sorted(d["id"] for d in response.json()["items"])

    assert ids() == sorted([a, b, c])
    assert ids(platform="ios") == sorted([b, c])
    assert ids(ownership="byod") == [b]
    assert ids(state="lost") == [c]
    assert ids(platform="ios", state="active") == [b]
    assert ids(group_id=str(staff["id"])) == sorted([a, b, c])
    for params in ({"platform": "windows"}, {"state": "stolen"}, {"limit": "0"}):
        response = env.client.get(f"{API}/devices", params=params, headers=env.headers(operator))
        assert_problem(response, 422, "invalid")


def test_lifecycle(env: Env, operator: str) -> None:
    staff = create_group(env, operator, name="Staff")
    device_id = enroll(env, issue_token(env, operator, staff["id"]))
    url = f"{API}/devices/{device_id}"
    lost = env.client.post(f"{url}/lost", headers=env.headers(operator))
    assert lost.status_code == 200 and lost.json()["state"] == "lost"
    assert_problem(env.client.post(f"{url}/lost", headers=env.headers(operator)), 409)
    revoked = env.client.post(f"{url}/revoke-key", headers=env.headers(operator)).json()
    assert revoked["public_key"] is None and revoked["state"] == "lost"
    assert_problem(env.client.post(f"{url}/revoke-key", headers=env.headers(operator)), 409)
    retired = env.client.post(f"{url}/retire", headers=env.headers(operator))
    assert retired.json()["state"] == "retired"
    before = counts(env)
    assert_problem(
        env.client.post(f"{url}/retire", headers=env.headers(operator)),
        409,
        "invalid-transition",
    )
    assert counts(env) == before
    with env.session() as session:
        actions = list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_id == device_id)
                .order_by(AuditEvent.seq)
            )
        )
    assert actions == ["device.enroll", "device.report_lost", "device.revoke_key", "device.retire"]
    assert env.audit_ok().ok


def test_unknown_devices_are_404(env: Env, operator: str) -> None:
    for path in ("", "/retire", "/lost", "/revoke-key"):
        method = env.client.get if not path else env.client.post
        assert_problem(method(f"{API}/devices/dev_nope{path}", headers=env.headers(operator)), 404)
