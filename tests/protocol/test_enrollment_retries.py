"""An enrollment sent again because its answer was lost gets the device it made, not a
second one; a key already enrolled otherwise is refused (409). On both stores."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select

from appwarden.audit.models import AuditEvent
from appwarden.fleet.models import Device, EnrollmentToken
from appwarden.sim.agent import Agent
from appwarden.sim.client import Answer, DeviceClient
from appwarden.sim.packages import SimulatedPackageManager
from tests.catalog.helpers import assert_problem
from tests.fleet.helpers import API, create_group, issue_token
from tests.server import Env


def _key() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _body(token: str, key: str) -> dict[str, Any]:
    return {"token": token, "platform": "android", "ownership": "corporate", "public_key": key}


def _post(env: Env, body: dict[str, Any]) -> httpx.Response:
    return env.client.post("/v1/enroll", json=body)


def _counts(env: Env) -> tuple[int, int, list[str]]:
    """Devices, uses of the (only) token, and the audit actions recorded."""
    with env.session() as session:
        devices = int(session.scalar(select(func.count()).select_from(Device)) or 0)
        uses = int(session.scalar(select(func.sum(EnrollmentToken.uses))) or 0)
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    return devices, uses, [a for a in actions if a.startswith("device.enroll")]


def test_the_same_enrollment_sent_again_gets_the_same_device(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Staff")
    token = issue_token(env, operator, group["id"], max_uses=1)  # spent by the first try
    body = _body(token, _key())
    first = _post(env, body)
    assert first.status_code == 201
    again = _post(env, body)
    assert again.status_code == 201 and again.json() == first.json()
    assert _counts(env) == (1, 1, ["device.enroll"])
    # A new key with the same token is a new device, and the token has no use left.
    assert_problem(_post(env, _body(token, _key())), 401)
    assert env.audit_ok().ok


def test_a_key_enrolled_with_another_token_is_refused(env: Env, operator: str) -> None:
    staff = create_group(env, operator, name="Staff")
    guests = create_group(env, operator, name="Guests")
    key = _key()
    assert _post(env, _body(issue_token(env, operator, staff["id"]), key)).status_code == 201
    other = issue_token(env, operator, guests["id"])
    refused = _post(env, _body(other, key))
    assert_problem(refused, 409)
    assert "new key pair" in refused.json()["detail"]
    devices, uses, actions = _counts(env)
    assert (devices, uses) == (1, 1)  # nothing written, the other token not spent
    assert actions == ["device.enroll", "device.enroll.refused"]
    assert env.audit_ok().ok


def test_a_retired_devices_key_is_refused(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Staff")
    token = issue_token(env, operator, group["id"])
    body = _body(token, _key())
    device_id = _post(env, body).json()["device_id"]
    retired = env.client.post(f"{API}/devices/{device_id}/retire", headers=env.headers(operator))
    assert retired.status_code == 200
    assert_problem(_post(env, body), 409)
    assert _counts(env)[:2] == (1, 1)


def test_an_unknown_token_with_a_known_key_is_still_401(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Staff")
    key = _key()
    assert _post(env, _body(issue_token(env, operator, group["id"]), key)).status_code == 201
    assert_problem(_post(env, _body("aw_enroll_" + "x" * 43, key)), 401)
    assert _counts(env)[:2] == (1, 1)


def test_copies_sent_at_once_make_one_device(env: Env, operator: str) -> None:
    """Copies of one request that land in the same batch, or in the next one."""
    env.settings.enroll_limit = 100
    group = create_group(env, operator, name="Staff")
    body = _body(issue_token(env, operator, group["id"], max_uses=3), _key())
    gate = threading.Barrier(8)

    def send(_: int) -> httpx.Response:
        gate.wait()
        return _post(env, body)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["device_id"] for a in answers}) == 1
    assert _counts(env) == (1, 1, ["device.enroll"])
    assert env.audit_ok().ok


class _LosesTheFirstEnrollAnswer:
    """The agent's HTTP over the test client; the server's first answer to an enrollment
    is lost on the way back, after the server has written it."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.keys: list[str] = []

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Answer:
        response = self.env.client.request(method, target, headers=headers, content=body)
        if target == "/v1/enroll":
            self.keys.append(json.loads(body)["public_key"])
            if len(self.keys) == 1:
                raise httpx.ReadTimeout("the answer was lost")
        return Answer(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        return None


def test_an_agent_whose_answer_was_lost_enrolls_once(env: Env, operator: str) -> None:
    group = create_group(env, operator, name="Staff")
    token = issue_token(env, operator, group["id"], max_uses=1)
    http = _LosesTheFirstEnrollAnswer(env)
    agent = Agent(DeviceClient(http, env.clock), SimulatedPackageManager(), clock=env.clock)
    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(agent.enroll(token))
    identity = asyncio.run(agent.enroll(token))  # the fleet's retry
    assert len(http.keys) == 2 and http.keys[0] == http.keys[1]
    assert _counts(env) == (1, 1, ["device.enroll"])
    with env.session() as session:
        assert session.scalar(select(Device.id)) == identity.device_id
