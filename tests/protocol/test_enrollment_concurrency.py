"""Enrollment under concurrency, on SQLite and PostgreSQL: a limited-use token is never
spent past its uses, and the per-address limit lets exactly its number through, whether
the requests land in one batch, in several, or in separate transactions (as several
server processes would write them)."""

from __future__ import annotations

import base64
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select

from appwarden.errors import Unauthenticated
from appwarden.fleet import enrollment
from appwarden.fleet.models import Device, EnrollmentToken
from appwarden.protocol.models import EnrollmentCount
from appwarden.protocol.v1.enrolling import admit, take_turn
from tests.fleet.helpers import create_group, issue_token, new_key
from tests.server import Env

T = TypeVar("T")
AT_ONCE = 20


def _together(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(n)`` for n < count in as many threads, released at the same moment."""
    gate = threading.Barrier(count)

    def started(n: int) -> T:
        gate.wait()
        return work(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(started, range(count)))


def _body(token: str, **extra: Any) -> dict[str, Any]:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "token": token,
        "platform": "android",
        "ownership": "corporate",
        "public_key": base64.b64encode(raw).decode(),
    } | extra


def _post(env: Env, body: dict[str, Any]) -> httpx.Response:
    return env.client.post("/v1/enroll", json=body)


def _devices(env: Env) -> int:
    with env.session() as session:
        return int(session.scalar(select(func.count()).select_from(Device)) or 0)


def test_a_five_use_token_enrolls_exactly_five_of_twenty_requests(env: Env, operator: str) -> None:
    env.settings.enroll_limit = 100
    group = create_group(env, operator, name="Staff")
    token = issue_token(env, operator, group["id"], max_uses=5)
    answers = _together(AT_ONCE, lambda n: _post(env, _body(token)))
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: 5, 401: AT_ONCE - 5}
    refused = [a.json() for a in answers if a.status_code == 401]
    assert all("used up (5 uses)" in problem["detail"] for problem in refused)
    assert _devices(env) == 5
    with env.session() as session:
        assert session.scalar(select(EnrollmentToken.uses)) == 5
    assert env.audit_ok().ok


def test_separate_transactions_never_spend_a_token_past_its_uses(env: Env, operator: str) -> None:
    """As several server processes would: each redemption in its own transaction."""
    group = create_group(env, operator, name="Staff")
    token = issue_token(env, operator, group["id"], max_uses=5)

    def redeem(_n: int) -> str:
        with env.session() as session, session.begin():
            try:
                return enrollment.redeem_enrollment(
                    session,
                    clock=env.clock,
                    audit_key=env.settings.audit_secret(),
                    token=token,
                    platform="android",
                    ownership="corporate",
                    public_key_b64=new_key(),
                ).id
            except Unauthenticated as refused:
                return refused.detail

    results = _together(AT_ONCE, redeem)
    enrolled = [r for r in results if r.startswith("dev_")]
    assert len(enrolled) == 5
    assert all("used up" in r for r in results if not r.startswith("dev_"))
    assert _devices(env) == 5
    assert env.audit_ok().ok


def test_the_address_limit_lets_exactly_its_number_through(env: Env, operator: str) -> None:
    env.settings.enroll_limit = 5
    group = create_group(env, operator, name="Staff")
    token = issue_token(env, operator, group["id"], max_uses=100)
    answers = _together(AT_ONCE, lambda n: _post(env, _body(token)))
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: 5, 429: AT_ONCE - 5}
    assert _devices(env) == 5
    with env.session() as session:
        assert session.scalar(select(func.sum(EnrollmentCount.attempts))) == 5


def test_the_limit_holds_across_separate_transactions(env: Env) -> None:
    def attempt(_n: int) -> bool:
        with env.session() as session, session.begin():
            take_turn(session)
            [allowed] = admit(session, addresses=["192.0.2.7"], now=env.clock.now(), limit=5)
            return allowed

    assert Counter(_together(AT_ONCE, attempt)) == {True: 5, False: AT_ONCE - 5}


def test_bad_requests_in_a_batch_fail_alone_and_count_as_attempts(env: Env, operator: str) -> None:
    env.settings.enroll_limit = 100
    group = create_group(env, operator, name="Staff")
    token = issue_token(env, operator, group["id"], max_uses=100)
    bodies = [
        body
        for _ in range(5)  # each device its own key: copies of one request make one device
        for body in (
            _body(token),
            _body(token, public_key="AAAA"),  # 3 bytes, not an Ed25519 key
            _body("aw_enroll_unknown"),
            _body(token, public_key="not base64!"),
        )
    ]
    answers = _together(len(bodies), lambda n: _post(env, bodies[n]))
    assert [a.status_code for a in answers] == [201, 422, 401, 422] * 5
    assert _devices(env) == 5
    with env.session() as session:
        assert session.scalar(select(EnrollmentToken.uses)) == 5
        assert session.scalar(select(func.sum(EnrollmentCount.attempts))) == 20
    assert env.audit_ok().ok
