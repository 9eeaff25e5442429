"""GET /v1/policy: determinations in force × groups × waivers, versioned per device."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from appwarden.protocol.v1.signing import signed_headers
from tests.decisions.support import Actors, act, actors, ok, post, reach, seed_catalog
from tests.fleet.helpers import create_group, issue_token
from tests.server import Env

TIKTOK = "com.zhiliaoapp.musically"
APP_TARGET = {"kind": "app", "app_id": TIKTOK, "platform": None}


class Phone:
    """An enrolled device that signs its requests."""

    def __init__(self, env: Env, who: Actors, group: str) -> None:
        self.env = env
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        groups = env.client.get("/api/v1/groups", headers=env.headers(who.olu)).json()
        found = [g for g in groups.get("items", groups) if g["name"] == group]
        group_id = found[0]["id"] if found else create_group(env, who.olu, name=group)["id"]
        body = {
            "token": issue_token(env, who.olu, group_id),
            "platform": "android",
            "ownership": "corporate",
            "public_key": base64.b64encode(raw).decode(),
        }
        self.id: str = ok(env.client.post("/v1/enroll", json=body), 201)["device_id"]

    def policy(self, **headers: str) -> httpx.Response:
        signed = signed_headers(
            self.key,
            device_id=self.id,
            method="GET",
            target="/v1/policy",
            timestamp=int(self.env.clock.now().timestamp()),
        )
        return self.env.client.get("/v1/policy", headers=signed | headers)


def _body(response: httpx.Response) -> dict[str, Any]:
    body = ok(response)
    assert response.headers["etag"] == f'"{body["etag"]}"'
    return body


def test_ban_in_force_reaches_the_device_then_lapses_with_a_new_version(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who, "government-issued")
    number = reach(env, who, catalog, "in_force", target=APP_TARGET)

    first = _body(phone.policy())
    assert first["version"] == 2  # 1 was issued at enrollment, before the ban
    assert first["policy"]["banned"] == [TIKTOK]
    assert [r["id"] for r in first["policy"]["rules"]] == [number]

    again = phone.policy(**{"If-None-Match": f'"{first["etag"]}"'})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == f'"{first["etag"]}"'
    assert _body(phone.policy())["version"] == 2  # unchanged: no new version

    ok(act(env, who.alex, number, "rescind", {"note": "no longer needed"}))
    after = _body(phone.policy(**{"If-None-Match": first["etag"]}))
    assert after["version"] == 3
    assert after["policy"]["banned"] == [] and after["policy"]["rules"] == []
    assert after["etag"] != first["etag"]


def test_the_end_date_passing_changes_the_policy(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who, "government-issued")
    reach(env, who, catalog, "in_force", target=APP_TARGET)
    banned = _body(phone.policy())
    assert banned["policy"]["banned"] == [TIKTOK]
    env.clock.advance(timedelta(days=91))
    lapsed = _body(phone.policy())
    assert lapsed["version"] == banned["version"] + 1 and lapsed["policy"]["banned"] == []


def test_scope_shared_documents_and_publisher_targets(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    one = Phone(env, who, "government-issued")
    two = Phone(env, who, "government-issued")
    outside = Phone(env, who, "Staff")
    reach(env, who, catalog, "in_force")  # a publisher ban: ByteDance and affiliates

    a, b = _body(one.policy()), _body(two.policy())
    assert a["etag"] == b["etag"] and a["policy"] == b["policy"]
    (publisher,) = a["policy"]["publishers"]
    assert publisher["app_ids"] == [TIKTOK]
    assert set(publisher["publisher_ids"]) == {
        catalog.bytedance,
        catalog.tiktok_ltd,
        catalog.lemon8_ltd,
    }

    empty = _body(outside.policy())
    assert empty["version"] == 1
    assert empty["policy"]["rules"] == [] and empty["policy"]["publishers"] == []
    assert empty["etag"] != a["etag"]


def test_an_approved_waiver_lifts_the_ban_for_the_named_device_only(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    waived, other = Phone(env, who, "government-issued"), Phone(env, who, "government-issued")
    number = reach(env, who, catalog, "in_force", target=APP_TARGET)
    before = _body(waived.policy())
    assert before["policy"]["banned"] == [TIKTOK]
    body = {
        "devices": [waived.id],
        "reason": "law_enforcement",
        "justification": "Undercover investigation needs the app on this phone.",
        "mitigations": ["no government data on the device"],
        "expires_at": (env.clock.now() + timedelta(days=30)).isoformat(),
    }
    waiver = ok(post(env, who.olu, f"/determinations/{number}/waivers", body), 201)
    ok(post(env, who.alex, f"/waivers/{waiver['id']}/approve", {"note": "checked"}))

    lifted = _body(waived.policy())
    assert lifted["version"] == before["version"] + 1 and lifted["policy"]["banned"] == []
    (rule,) = lifted["policy"]["rules"]
    assert rule["waived_until"] is not None
    assert _body(other.policy())["policy"]["banned"] == [TIKTOK]


def test_an_unsigned_request_is_refused(env: Env) -> None:
    response = env.client.get("/v1/policy")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
