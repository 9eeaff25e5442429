"""Long-polls in tests: a signed GET as a device sends it, a long-poll in a thread of its
own, and waiting (bounded) until long-polls are parked on the server."""

from __future__ import annotations

import threading
import time

import httpx

from appwarden.protocol.v1.signing import signed_headers
from appwarden.protocol.v1.wakeups import Distributor
from tests.enforcement.test_policy_endpoint import Phone
from tests.server import Env


def signed_get(phone: Phone, target: str, **headers: str) -> httpx.Response:
    """``GET target`` signed with the phone's key at the test clock's time."""
    signed = signed_headers(
        phone.key,
        device_id=phone.id,
        method="GET",
        target=target,
        timestamp=int(phone.env.clock.now().timestamp()),
    )
    return phone.env.client.get(target, headers=signed | headers)


def distributor_of(env: Env) -> Distributor:
    distributor: Distributor = env.client.app.state.distributor  # type: ignore[attr-defined]
    return distributor


def until_parked(env: Env, count: int) -> None:
    """Wait (bounded) until ``count`` long-polls are parked: the test's synchronisation."""
    deadline = time.monotonic() + 20
    while len(distributor_of(env).parked) < count:
        assert time.monotonic() < deadline, "the long-poll never parked"
        time.sleep(0.01)


class Poll(threading.Thread):
    """A long-poll in a thread of its own."""

    def __init__(self, phone: Phone, etag: str, wait: int) -> None:
        super().__init__(daemon=True)
        self.phone, self.etag, self.wait = phone, etag, wait
        self.response: httpx.Response | None = None

    def run(self) -> None:
        self.response = signed_get(
            self.phone, f"/v1/policy?wait={self.wait}", **{"If-None-Match": f'"{self.etag}"'}
        )

    def result(self) -> httpx.Response:
        self.join(timeout=60)
        assert self.response is not None, "the long-poll did not return"
        return self.response
