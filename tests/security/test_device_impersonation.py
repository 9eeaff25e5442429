"""A rogue device (or anyone on the network) cannot act as another device, and every
refused signature is audited: aggregated per claimed device and minute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appwarden.audit.refusals import DEVICE_SIGNATURE_REFUSED
from appwarden.auth.roles import Role
from appwarden.fleet.models import Device
from appwarden.protocol.v1.signing import signed_headers
from tests.catalog.helpers import assert_problem
from tests.security.support import enrolled_device, refusals, signed_get
from tests.server import Env


@pytest.fixture
def operator(env: Env) -> str:
    return env.user("ops", Role.operator)


def _last_seen(env: Env, device_id: str) -> object:
    with env.session() as session:
        device = session.get(Device, device_id)
        assert device is not None
        return device.last_seen_at


def test_signing_with_another_devices_key_is_refused_and_audited(env: Env, operator: str) -> None:
    victim, _victim_key = enrolled_device(env, operator, "Victims")
    rogue, rogue_key = enrolled_device(env, operator, "Rogues")
    seen = _last_seen(env, victim)
    env.clock.advance(timedelta(minutes=5))
    body = assert_problem(signed_get(env, victim, rogue_key), 401, "unauthenticated")
    assert "bad signature" in body["detail"]
    assert _last_seen(env, victim) == seen  # a forged request moves nothing
    [event] = refusals(env, DEVICE_SIGNATURE_REFUSED)
    assert (event.actor, event.object_type, event.object_id) == (
        f"device:{victim}",
        "device",
        victim,
    )
    assert event.after["route"] == "GET /v1/device"
    assert event.after["repeats"] == 0
    # The rogue device's own key still works for itself: only the impersonation failed.
    assert signed_get(env, rogue, rogue_key).status_code == 200
    assert env.audit_ok().ok


def test_a_signature_for_another_device_id_or_path_is_refused(env: Env, operator: str) -> None:
    device, key = enrolled_device(env, operator)
    other, _ = enrolled_device(env, operator, "Others")
    # Signed honestly by ``device`` but sent claiming ``other``: the signature covers no id,
    # the claimed device's key must verify it, and it does not.
    headers = signed_headers(
        key,
        device_id=device,
        method="GET",
        target="/v1/device",
        timestamp=int(env.clock.now().timestamp()),
    )
    headers["X-AppWarden-Device"] = other
    assert_problem(env.client.get("/v1/device", headers=headers), 401)
    # Signed for one path, sent to another.
    signed = signed_headers(
        key,
        device_id=device,
        method="GET",
        target="/v1/device",
        timestamp=int(env.clock.now().timestamp()),
    )
    assert_problem(env.client.get("/v1/policy", headers=signed), 401)
    claimed = {e.object_id for e in refusals(env, DEVICE_SIGNATURE_REFUSED)}
    assert claimed == {other, device}


def test_unknown_device_replay_and_stale_timestamp_are_refused_and_audited(
    env: Env, operator: str
) -> None:
    device, key = enrolled_device(env, operator)
    assert_problem(signed_get(env, "dev_does_not_exist", Ed25519PrivateKey.generate()), 401)
    nonce = "n" * 24
    assert signed_get(env, device, key, nonce=nonce).status_code == 200
    replay = assert_problem(signed_get(env, device, key, nonce=nonce), 401)
    assert "nonce" in replay["detail"]
    stale = signed_headers(
        key,
        device_id=device,
        method="GET",
        target="/v1/device",
        timestamp=int((env.clock.now() - timedelta(minutes=10)).timestamp()),
    )
    env.clock.advance(timedelta(minutes=2))  # a new window: this refusal is written too
    assert "window" in assert_problem(env.client.get("/v1/device", headers=stale), 401)["detail"]
    events = refusals(env, DEVICE_SIGNATURE_REFUSED)
    assert [(e.object_id, e.after["reason"][:20]) for e in events] == [
        ("dev_does_not_exist", "unknown device, revo"),
        (device, "this nonce was alrea"),
        (device, "the request timestam"),
    ]
    # Malformed headers are refused (and audited) too: no device claimed, by address.
    assert_problem(env.client.get("/v1/device", headers={"X-AppWarden-Nonce": "x"}), 401)
    [anonymous] = [e for e in refusals(env, DEVICE_SIGNATURE_REFUSED) if e.object_id == "unknown"]
    assert anonymous.actor.startswith("address:")


def test_revoked_key_and_retired_device_are_refused_and_audited(env: Env, operator: str) -> None:
    revoked, revoked_key = enrolled_device(env, operator, "A")
    retired, retired_key = enrolled_device(env, operator, "B")
    for device, action in ((revoked, "revoke-key"), (retired, "retire")):
        response = env.client.post(
            f"/api/v1/devices/{device}/{action}", json={}, headers=env.headers(operator)
        )
        assert response.status_code == 200, response.text
    assert_problem(signed_get(env, revoked, revoked_key), 401)
    assert_problem(signed_get(env, retired, retired_key, target="/v1/policy"), 401)
    claimed = [e.object_id for e in refusals(env, DEVICE_SIGNATURE_REFUSED)]
    assert claimed == [revoked, retired]
    assert env.audit_ok().ok


def test_a_flood_of_forged_requests_is_aggregated_not_written_each(env: Env, operator: str) -> None:
    victim, _ = enrolled_device(env, operator)
    forger = Ed25519PrivateKey.generate()
    for _ in range(25):
        assert_problem(signed_get(env, victim, forger), 401)
    assert len(refusals(env, DEVICE_SIGNATURE_REFUSED)) == 1
    env.clock.advance(timedelta(seconds=61))
    assert_problem(signed_get(env, victim, forger), 401)
    first, second = refusals(env, DEVICE_SIGNATURE_REFUSED)
    assert (first.after["repeats"], second.after["repeats"]) == (0, 24)
    assert env.audit_ok().ok
