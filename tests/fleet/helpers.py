"""Helpers for fleet tests: groups and tokens through the API, devices enrolled directly."""

from __future__ import annotations

import base64
import os
from typing import Any

from sqlalchemy import func, select

from appwarden.fleet import enrollment
from appwarden.fleet.models import Device, DeviceGroup, EnrollmentToken, device_group_members
from tests.server import Env, audited_changes

API = "/api/v1"


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def create_group(env: Env, token: str, **body: Any) -> dict[str, Any]:
    response = env.client.post(f"{API}/groups", json=body, headers=env.headers(token))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def issue_token(env: Env, token: str, group_id: int, **body: Any) -> str:
    response = env.client.post(
        f"{API}/enrollment-tokens", json={"group_id": group_id, **body}, headers=env.headers(token)
    )
    assert response.status_code == 201, response.text
    clear: str = response.json()["token"]
    return clear


def enroll(env: Env, clear: str, **attributes: Any) -> str:
    """Redeem ``clear`` as the device protocol will; returns the new device id."""
    options: dict[str, Any] = {"platform": "android", "ownership": "corporate"} | attributes
    with env.session() as session, session.begin():
        device = enrollment.redeem_enrollment(
            session,
            clock=env.clock,
            audit_key=env.settings.audit_secret(),
            token=clear,
            public_key_b64=options.pop("public_key_b64", new_key()),
            **options,
        )
        return device.id


def counts(env: Env) -> dict[str, int]:
    tables: dict[str, Any] = {
        "devices": Device,
        "groups": DeviceGroup,
        "members": device_group_members,
        "tokens": EnrollmentToken,
    }
    with env.session() as session:
        found = {
            name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in tables.items()
        }
        return found | {"audit": audited_changes(session)}
