"""Enrollment tokens: shown once, stored as SHA-256, one group, expiring, limited uses."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from appwarden.errors import Conflict, DomainError, Invalid, Unauthenticated
from appwarden.fleet import enrollment
from appwarden.fleet.models import EnrollmentToken
from tests.catalog.helpers import assert_problem
from tests.fleet.helpers import API, counts, create_group, enroll, issue_token, new_key
from tests.server import Env


def test_token_shown_once_and_stored_as_sha256(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Staff")
    response = env.client.post(
        f"{API}/enrollment-tokens",
        json={"group_id": group["id"], "expires_in_hours": 24, "max_uses": 5},
        headers=env.headers(operator),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("aw_enroll_") and body["max_uses"] == 5 and body["uses"] == 0
    assert body["expires_at"].startswith("2026-11-24T09:00")
    with env.session() as session:
        row = session.scalars(select(EnrollmentToken)).one()
    assert row.token_sha256 == hashlib.sha256(body["token"].encode()).hexdigest()
    listed = env.client.get(f"{API}/enrollment-tokens", headers=env.headers(operator)).json()
    assert listed["total"] == 1 and "token" not in listed["items"][0]
    assert body["token"] not in str(listed)
    assert env.audit_ok().ok


def test_idempotent_token_replay_never_repeats_the_value(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Staff")
    headers = env.headers(operator) | {"Idempotency-Key": "t-1"}
    body = {"group_id": group["id"]}
    first = env.client.post(f"{API}/enrollment-tokens", json=body, headers=headers)
    again = env.client.post(f"{API}/enrollment-tokens", json=body, headers=headers)
    assert first.json()["token"] and again.json()["token"] is None
    assert again.json()["id"] == first.json()["id"] and again.status_code == 201
    assert counts(env)["tokens"] == 1


def test_enrollment_joins_the_tokens_group(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Staff")
    clear = issue_token(env, operator, group["id"], max_uses=2)
    key = new_key()
    device_id = enroll(
        env, clear, platform="ios", ownership="byod", department=" Legal ", public_key_b64=key
    )
    assert device_id.startswith("dev_")
    detail = env.client.get(f"{API}/devices/{device_id}", headers=env.headers(operator)).json()
    assert detail["static_groups"] == ["Staff"] and detail["public_key"] == key
    assert detail["state"] == "active" and detail["department"] == "Legal"
    assert detail["source"] == "agent" and detail["enrolled_at"].startswith("2026-11-23T09:00")
    tokens = env.client.get(f"{API}/enrollment-tokens", headers=env.headers(operator)).json()
    assert tokens["items"][0]["uses"] == 1
    assert env.audit_ok().ok


def _refused(env: Env, clear: str, error: type[DomainError], words: str, **options: str) -> None:
    before = counts(env)
    with pytest.raises(error, match=words):
        enroll(env, clear, **options)
    assert counts(env) == before


def test_expired_used_up_and_unknown_tokens_are_refused(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Staff")
    once = issue_token(env, operator, group["id"], max_uses=1)
    enroll(env, once)
    _refused(env, once, Unauthenticated, "used up")
    soon = issue_token(env, operator, group["id"], expires_in_hours=1)
    env.clock.advance(timedelta(hours=1))
    _refused(env, soon, Unauthenticated, "expired")
    _refused(env, "aw_enroll_nothing", Unauthenticated, "unknown")


def test_malformed_enrollment_spends_nothing(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Staff")
    clear = issue_token(env, operator, group["id"], max_uses=1)
    _refused(env, clear, Invalid, "base64", public_key_b64="not base64!")
    _refused(env, clear, Invalid, "32 bytes", public_key_b64="AAAA")
    _refused(env, clear, Invalid, "platform", platform="windows")
    _refused(env, clear, Invalid, "ownership", ownership="borrowed")
    assert enroll(env, clear)  # the one use is still there


def test_bad_token_requests(env: Env, operator: str) -> None:
    for body in ({"group_id": 999}, {"group_id": "x"}, {"group_id": 1, "max_uses": 0}):
        response = env.client.post(
            f"{API}/enrollment-tokens", json=body, headers=env.headers(operator)
        )
        assert_problem(response, 404 if body == {"group_id": 999} else 422)
    assert counts(env)["tokens"] == 0


def test_reenroll_with_a_new_token_after_a_revoked_key(env: Env, operator: str) -> None:
    staff = create_group(env, operator, name="Staff")
    device_id = enroll(env, issue_token(env, operator, staff["id"]))
    revoked = env.client.post(
        f"{API}/devices/{device_id}/revoke-key", headers=env.headers(operator)
    ).json()
    assert revoked["public_key"] is None and revoked["has_key"] is False
    field = create_group(env, operator, name="Field")
    key = new_key()
    with env.session() as session, session.begin():
        device = enrollment.reenroll(
            session,
            clock=env.clock,
            audit_key=env.settings.audit_secret(),
            token=issue_token(env, operator, field["id"]),
            device_id=device_id,
            public_key_b64=key,
        )
        assert device.public_key == key
    detail = env.client.get(f"{API}/devices/{device_id}", headers=env.headers(operator)).json()
    assert detail["has_key"] and detail["static_groups"] == ["Field", "Staff"]
    assert env.audit_ok().ok


def test_reenroll_refuses_a_key_another_device_holds(env: Env, operator: str) -> None:
    staff = create_group(env, operator, name="Staff")
    taken = new_key()
    enroll(env, issue_token(env, operator, staff["id"]), public_key_b64=taken)
    device_id = enroll(env, issue_token(env, operator, staff["id"]))
    env.client.post(f"{API}/devices/{device_id}/revoke-key", headers=env.headers(operator))
    token = issue_token(env, operator, staff["id"], max_uses=1)
    with pytest.raises(Conflict), env.session() as session, session.begin():
        enrollment.reenroll(
            session,
            clock=env.clock,
            audit_key=env.settings.audit_secret(),
            token=token,
            device_id=device_id,
            public_key_b64=taken,
        )
    with env.session() as session:  # the token was not spent
        spent = session.scalar(select(EnrollmentToken.uses).order_by(EnrollmentToken.id.desc()))
    assert spent == 0


def test_one_token_may_enroll_a_fleet_of_a_million_but_no_more(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Fleet")

    def create(uses: int) -> int:
        body = {"group_id": group["id"], "max_uses": uses}
        made = env.client.post(f"{API}/enrollment-tokens", json=body, headers=env.headers(operator))
        return made.status_code

    assert create(1_000_000) == 201  # 100,000 devices and room for lost answers' retries
    assert create(1_000_001) == 422
    assert create(0) == 422
