"""Helpers for security tests: refused attempts in the audit chain, devices over HTTP."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from appwarden.audit.models import AuditEvent
from appwarden.protocol.v1.signing import signed_headers
from tests.fleet.helpers import create_group, issue_token
from tests.server import Env


@dataclass(frozen=True)
class Event:
    actor: str
    action: str
    object_type: str
    object_id: str
    after: dict[str, Any]


def refusals(env: Env, action: str) -> list[Event]:
    """The audit events of one kind of refusal, oldest first."""
    with env.session() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).all()
        return [
            Event(r.actor, r.action, r.object_type, r.object_id, dict(r.after or {})) for r in rows
        ]


def public_key(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def enroll(env: Env, token: str, key: Ed25519PrivateKey) -> httpx.Response:
    body = {"token": token, "platform": "android", "ownership": "corporate"}
    return env.client.post("/v1/enroll", json=body | {"public_key": public_key(key)})


def enrolled_device(env: Env, operator: str, group: str = "Staff") -> tuple[str, Ed25519PrivateKey]:
    created = create_group(env, operator, name=group)
    key = Ed25519PrivateKey.generate()
    response = enroll(env, issue_token(env, operator, created["id"]), key)
    assert response.status_code == 201, response.text
    device_id: str = response.json()["device_id"]
    return device_id, key


def signed_get(
    env: Env, device_id: str, key: Ed25519PrivateKey, target: str = "/v1/device", **options: Any
) -> httpx.Response:
    headers = signed_headers(
        key,
        device_id=device_id,
        method="GET",
        target=target,
        timestamp=int(env.clock.now().timestamp()),
        **options,
    )
    return env.client.get(target, headers=headers)
