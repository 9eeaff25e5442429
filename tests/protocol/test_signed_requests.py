"""Enrollment and signed device requests over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from appwarden.audit.service import Acting
from appwarden.fleet import service
from appwarden.fleet.models import Device
from appwarden.protocol.models import DeviceNonce, EnrollmentCount
from appwarden.protocol.v1.signing import prune_nonces, signed_headers
from tests.catalog.helpers import assert_problem
from tests.fleet.helpers import counts, create_group, issue_token
from tests.server import Env


def _public(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _enroll(env: Env, token: str, key: Ed25519PrivateKey, **extra: Any) -> httpx.Response:
    body = {
        "token": token,
        "platform": "android",
        "ownership": "corporate",
        "department": "Legal",
        "public_key": _public(key),
    } | extra
    return env.client.post("/v1/enroll", json=body)


def _device(env: Env, operator: str) -> tuple[str, Ed25519PrivateKey]:
    group = create_group(env, operator, name="Staff")
    key = Ed25519PrivateKey.generate()
    response = _enroll(env, issue_token(env, operator, group["id"]), key)
    assert response.status_code == 201, response.text
    device_id: str = response.json()["device_id"]
    return device_id, key


def _get(
    env: Env,
    device_id: str,
    key: Ed25519PrivateKey,
    *,
    target: str = "/v1/device",
    signed_target: str | None = None,
    **options: Any,
) -> httpx.Response:
    headers = signed_headers(
        key,
        device_id=device_id,
        method="GET",
        target=signed_target or target,
        timestamp=int(env.clock.now().timestamp()),
        **options,
    )
    return env.client.get(target, headers=headers)


def _acting(env: Env) -> Acting:
    return Acting(actor="ops", audit_key=env.settings.audit_secret())


def test_enrolled_device_reads_its_own_record(env: Env, operator: str) -> None:
    create_group(env, operator, name="Legal phones", rule={"department": ["legal"]})
    device_id, key = _device(env, operator)
    response = _get(env, device_id, key)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": device_id,
        "platform": "android",
        "ownership": "corporate",
        "state": "active",
        "groups": ["Legal phones", "Staff"],
    }
    with env.session() as session:
        device = session.get(Device, device_id)
    assert device is not None and device.last_seen_at == env.clock.now()
    assert env.audit_ok().ok


def test_query_is_signed_too(env: Env, operator: str) -> None:
    device_id, key = _device(env, operator)
    assert _get(env, device_id, key, target="/v1/device?x=1").status_code == 200
    tampered = _get(env, device_id, key, target="/v1/device?x=2", signed_target="/v1/device?x=1")
    assert_problem(tampered, 401, "unauthenticated")


def test_wrong_key_and_tampering_are_refused(env: Env, operator: str) -> None:
    device_id, key = _device(env, operator)
    other = Ed25519PrivateKey.generate()
    assert_problem(_get(env, device_id, other), 401, "unauthenticated")
    wrong_path = _get(env, device_id, key, signed_target="/v1/policy")
    assert_problem(wrong_path, 401, "unauthenticated")
    now = int(env.clock.now().timestamp())
    headers = signed_headers(
        key, device_id=device_id, method="GET", target="/v1/device", body=b"{}", timestamp=now
    )
    assert_problem(env.client.get("/v1/device", headers=headers), 401)  # body hash differs
    headers = signed_headers(
        key, device_id=device_id, method="GET", target="/v1/device", timestamp=now
    )
    headers["X-AppWarden-Signature"] = "not base64!"
    assert_problem(env.client.get("/v1/device", headers=headers), 401)
    assert_problem(env.client.get("/v1/device"), 401)


def test_timestamp_outside_the_window_is_refused(env: Env, operator: str) -> None:
    device_id, key = _device(env, operator)
    signed_at = int(env.clock.now().timestamp())
    headers = signed_headers(
        key, device_id=device_id, method="GET", target="/v1/device", timestamp=signed_at
    )
    env.clock.advance(timedelta(seconds=301))
    assert_problem(env.client.get("/v1/device", headers=headers), 401)
    early = signed_headers(
        key, device_id=device_id, method="GET", target="/v1/device", timestamp=signed_at + 700
    )
    assert_problem(env.client.get("/v1/device", headers=early), 401)
    assert _get(env, device_id, key).status_code == 200  # a fresh signature is fine


def test_replayed_nonce_is_refused_and_old_nonces_are_forgotten(env: Env, operator: str) -> None:
    device_id, key = _device(env, operator)
    nonce = "n" * 20
    assert _get(env, device_id, key, nonce=nonce).status_code == 200
    replay = _get(env, device_id, key, nonce=nonce)
    assert "nonce" in assert_problem(replay, 401)["detail"]
    env.clock.advance(timedelta(seconds=301))
    # The old request is now refused by its timestamp, nonce or not.
    stale = signed_headers(
        key,
        device_id=device_id,
        method="GET",
        target="/v1/device",
        timestamp=int((env.clock.now() - timedelta(seconds=301)).timestamp()),
        nonce=nonce,
    )
    assert "window" in assert_problem(env.client.get("/v1/device", headers=stale), 401)["detail"]
    assert _get(env, device_id, key).status_code == 200
    env.clock.advance(timedelta(seconds=300))
    with env.session() as session, session.begin():
        assert prune_nonces(session, env.clock.now()) == 1  # older than twice the window
    with env.session() as session:
        left = session.scalars(select(DeviceNonce.nonce)).all()
    assert nonce not in left and len(left) == 1


def test_a_refusal_names_the_signature_scheme_not_a_bearer_token(env: Env) -> None:
    device = env.client.get("/v1/device")
    assert device.status_code == 401
    assert device.headers["www-authenticate"] == 'AppWarden-Signature realm="devices"'
    person = env.client.get("/api/v1/devices")
    assert person.status_code == 401 and person.headers["www-authenticate"] == "Bearer"


def test_unknown_retired_and_revoked_devices_are_refused(env: Env, operator: str) -> None:
    device_id, key = _device(env, operator)
    assert_problem(_get(env, "dev_unknown", key), 401)
    with env.session() as session, session.begin():
        service.report_lost(session, clock=env.clock, acting=_acting(env), device_id=device_id)
    assert _get(env, device_id, key).json()["state"] == "lost"  # lost devices still report
    with env.session() as session, session.begin():
        service.revoke_key(session, clock=env.clock, acting=_acting(env), device_id=device_id)
    assert_problem(_get(env, device_id, key), 401)

    retired_id, retired_key = _device_in(env, operator, "Others")
    with env.session() as session, session.begin():
        service.retire(session, clock=env.clock, acting=_acting(env), device_id=retired_id)
    assert_problem(_get(env, retired_id, retired_key), 401)


def _device_in(env: Env, operator: str, group: str) -> tuple[str, Ed25519PrivateKey]:
    created = create_group(env, operator, name=group)
    key = Ed25519PrivateKey.generate()
    response = _enroll(env, issue_token(env, operator, created["id"]), key)
    assert response.status_code == 201
    return response.json()["device_id"], key


def test_expired_and_used_up_tokens_write_nothing(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Staff")
    once = issue_token(env, operator, group["id"], max_uses=1)
    assert _enroll(env, once, Ed25519PrivateKey.generate()).status_code == 201
    before = counts(env)
    assert (
        "used up" in assert_problem(_enroll(env, once, Ed25519PrivateKey.generate()), 401)["detail"]
    )
    assert counts(env) == before
    soon = issue_token(env, operator, group["id"], expires_in_hours=1)
    env.clock.advance(timedelta(hours=1))
    before = counts(env)
    assert (
        "expired" in assert_problem(_enroll(env, soon, Ed25519PrivateKey.generate()), 401)["detail"]
    )
    assert_problem(_enroll(env, "aw_enroll_nope", Ed25519PrivateKey.generate()), 401)
    assert counts(env) == before


def test_malformed_enrollment_is_422(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Staff")
    token = issue_token(env, operator, group["id"])
    before = counts(env)
    key = Ed25519PrivateKey.generate()
    assert_problem(_enroll(env, token, key, platform="windows"), 422, "invalid")
    assert_problem(_enroll(env, token, key, extra="x"), 422)
    assert_problem(env.client.post("/v1/enroll", json={"token": token}), 422)
    assert_problem(_enroll(env, token, key, public_key="AAAA"), 422)  # 3 bytes, not 32
    assert counts(env) == before


def test_enrollment_is_rate_limited_per_address(env: Env, operator: str) -> None:
    env.settings.enroll_limit = 3
    group = create_group(env, operator, name="Staff")
    token = issue_token(env, operator, group["id"], max_uses=10)
    assert _enroll(env, token, Ed25519PrivateKey.generate()).status_code == 201
    assert_problem(_enroll(env, "aw_enroll_wrong", Ed25519PrivateKey.generate()), 401)
    assert _enroll(env, token, Ed25519PrivateKey.generate()).status_code == 201
    before = counts(env)
    assert_problem(_enroll(env, token, Ed25519PrivateKey.generate()), 429, "rate-limited")
    assert counts(env) == before
    env.clock.advance(timedelta(minutes=15))  # counted in minutes: 15 to 16 minutes
    assert_problem(_enroll(env, token, Ed25519PrivateKey.generate()), 429, "rate-limited")
    env.clock.advance(timedelta(minutes=1))
    assert _enroll(env, token, Ed25519PrivateKey.generate()).status_code == 201
    with env.session() as session:
        rows = session.execute(select(EnrollmentCount.attempts)).scalars().all()
    assert rows == [1]  # the old minutes were deleted
