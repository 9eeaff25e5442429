"""Helpers for compliance tests: phones that sign state reports, and row counts."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select

from appwarden.compliance.status import inventory_hash
from appwarden.models import Base
from appwarden.protocol.v1.signing import signed_headers
from tests.decisions.support import Actors, ok
from tests.fleet.helpers import create_group, issue_token
from tests.server import Env

TIKTOK = "com.zhiliaoapp.musically"
SIGNER = "ab" * 32
APP_TARGET = {"kind": "app", "app_id": TIKTOK, "platform": None}
#: Tables a refused report must leave as they were (nonces and last_seen_at aside).
STATE_TABLES = (
    "device_states",
    "device_apps",
    "device_events",
    "device_reports",
    "device_compliance",
    "compliance_status",
    "compliance_history",
    "compliance_webhooks",
    "device_policies",
    "device_policy_history",
)


def group_id(env: Env, who: Actors, name: str, **body: Any) -> int:
    groups = env.client.get("/api/v1/groups", headers=env.headers(who.olu)).json()
    found = [g for g in groups.get("items", groups) if g["name"] == name]
    return (
        int(found[0]["id"]) if found else int(create_group(env, who.olu, name=name, **body)["id"])
    )


class Phone:
    """An enrolled device that signs its requests."""

    def __init__(
        self,
        env: Env,
        who: Actors,
        group: str = "government-issued",
        *,
        platform: str = "android",
        ownership: str = "corporate",
        department: str | None = None,
    ) -> None:
        self.env = env
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        body: dict[str, Any] = {
            "token": issue_token(env, who.olu, group_id(env, who, group)),
            "platform": platform,
            "ownership": ownership,
            "public_key": base64.b64encode(raw).decode(),
        }
        if department:
            body["department"] = department
        self.id: str = ok(env.client.post("/v1/enroll", json=body), 201)["device_id"]
        self.apps: dict[str, str | None] = {}

    def signed(self, method: str, target: str, body: bytes = b"", **extra: Any) -> dict[str, str]:
        return signed_headers(
            self.key,
            device_id=extra.pop("device_id", self.id),
            method=method,
            target=target,
            body=body,
            timestamp=int(self.env.clock.now().timestamp()),
            **extra,
        )

    def policy(self) -> dict[str, Any]:
        response = self.env.client.get("/v1/policy", headers=self.signed("GET", "/v1/policy"))
        return ok(response)

    def post(self, path: str, body: bytes, **extra: Any) -> httpx.Response:
        headers = self.signed("POST", path, body, **extra)
        headers["Content-Type"] = "application/json"
        return self.env.client.post(path, content=body, headers=headers)

    def report(
        self,
        apps: dict[str, str | None] | None = None,
        *,
        version: int | None = None,
        report_id: str | None = None,
        events: list[dict[str, Any]] | None = None,
        inventory: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """A full inventory of ``apps`` (None: unchanged) with the version applied (by
        default the one the policy endpoint gives now)."""
        if inventory is None and apps is not None:
            inventory = {
                "kind": "full",
                "apps": [{"app_id": a, "signer": s} for a, s in sorted(apps.items())],
            }
        body = {
            "report_id": report_id or "r_" + secrets.token_hex(8),
            "applied_version": self.policy()["version"] if version is None else version,
            "inventory": inventory,
            "events": events or [],
        }
        return self.post("/v1/state", json.dumps(body).encode())

    def install_check(self, app_id: str, signer: str | None = None) -> dict[str, Any]:
        body = json.dumps({"app_id": app_id, "signer": signer}).encode()
        return ok(self.post("/v1/install-check", body))


def hash_of(apps: dict[str, str | None]) -> str:
    return inventory_hash(apps)


def counts(env: Env) -> dict[str, int]:
    t = Base.metadata.tables
    with env.session() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(t[name])) or 0)
            for name in STATE_TABLES
        }


def compliance(env: Env, token: str, path: str) -> dict[str, Any]:
    return ok(env.client.get(f"/api/v1{path}", headers=env.headers(token)))
