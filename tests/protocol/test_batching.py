"""Device requests sent at once are recorded in shared transactions, each with its own
answer: a replay, a forgery or a version never issued fails alone, and a batch that
fails as a whole is retried one request at a time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from appwarden.compliance import intake
from appwarden.compliance.models import DeviceReport, DeviceState
from appwarden.fleet.models import Device
from appwarden.protocol.models import DeviceNonce
from appwarden.protocol.v1 import batching
from appwarden.protocol.v1.batching import DeviceWrites
from tests.compliance.support import TIKTOK, Phone, counts
from tests.decisions.support import actors
from tests.server import Env

Request = tuple[bytes, dict[str, str]]


def _report(phone: Phone, report_id: str, version: int = 1) -> Request:
    body = json.dumps(
        {
            "report_id": report_id,
            "applied_version": version,
            "inventory": {"kind": "full", "apps": [{"app_id": TIKTOK, "signer": None}]},
            "events": [],
        }
    ).encode()
    headers = phone.signed("POST", "/v1/state", body) | {"Content-Type": "application/json"}
    return body, headers


def _all_at_once(env: Env, requests: Sequence[Request]) -> list[httpx.Response]:
    """Send every request concurrently to the app (its writer runs in this loop)."""
    transport = httpx.ASGITransport(app=env.client.app, raise_app_exceptions=False)

    async def send() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return list(
                await asyncio.gather(
                    *(client.post("/v1/state", content=b, headers=h) for b, h in requests)
                )
            )

    return asyncio.run(send())


def _writes(env: Env) -> DeviceWrites:
    writes: DeviceWrites = env.client.app.state.device_writes  # type: ignore[attr-defined]
    return writes


def _reports(env: Env) -> dict[str, list[str]]:
    with env.session() as session:
        rows = session.execute(select(DeviceReport.device_id, DeviceReport.report_id))
        found: dict[str, list[str]] = {}
        for device_id, report_id in rows:
            found.setdefault(device_id, []).append(report_id)
        return {k: sorted(v) for k, v in found.items()}


def test_a_burst_shares_transactions_and_each_request_gets_its_own_answer(env: Env) -> None:
    who = actors(env)
    phones = [Phone(env, who) for _ in range(10)]
    batches, report_batches = _writes(env).batches, _writes(env).report_batches
    for phone in phones:
        phone.policy()
    # Check-ins are written (their nonces) but are not reports: the memory trimmer, which
    # waits for reports to stop, must not see a parked fleet's renewals as a burst.
    assert _writes(env).batches > batches and _writes(env).report_batches == report_batches
    good = [_report(phone, f"r_burst_{n:02d}") for n, phone in enumerate(phones)]
    replayed = good[0]  # the same bytes and nonce again
    forged_body, forged_headers = _report(phones[1], "r_forged_01")
    forged = (forged_body.replace(b"r_forged_01", b"r_forged_02"), forged_headers)
    never_issued = _report(phones[2], "r_never_issued", version=7)
    second = _report(phones[3], "r_second_one")  # the same device twice in one batch
    before = _writes(env).batches

    answers = _all_at_once(env, [*good, replayed, forged, never_issued, second])

    codes = [a.status_code for a in answers]
    # One of the two identical requests is recorded, the other is a replay.
    assert sorted([codes[0], codes[10]]) == [200, 401]
    assert codes[1:10] == [200] * 9
    assert codes[11:] == [401, 409, 200], [a.text for a in answers[11:]]
    assert answers[12].json()["type"] == "urn:appwarden:problem:version-not-issued"
    transactions = _writes(env).batches - before
    assert 1 <= transactions < len(answers)  # shared: fewer commits than requests
    assert 1 <= _writes(env).report_batches - report_batches <= transactions
    stored = _reports(env)
    assert stored[phones[3].id] == ["r_burst_03", "r_second_one"]
    assert stored[phones[0].id] == ["r_burst_00"]
    assert phones[2].id in stored and "r_never_issued" not in stored[phones[2].id]
    assert sum(len(v) for v in stored.values()) == 11
    with env.session() as session:
        state = session.get(DeviceState, phones[3].id)
        # Sent at once, the two arrive in either order; each was recorded in a round of its own.
        assert state is not None and state.report_id in ("r_burst_03", "r_second_one")


def test_a_failing_batch_is_retried_one_request_at_a_time(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = actors(env)
    phones = [Phone(env, who) for _ in range(4)]
    for phone in phones:
        phone.policy()
    real = intake.accept_many

    def poisoned(session: Any, items: Sequence[intake.Incoming], **kw: Any) -> Any:
        if any(item.report.report_id == "r_poison_00" for item in items):
            raise RuntimeError("a fault in one request")
        return real(session, items, **kw)

    monkeypatch.setattr(batching, "accept_many", poisoned)
    requests = [_report(p, f"r_fine_{n:02d}") for n, p in enumerate(phones[1:])]
    poison = _report(phones[0], "r_poison_00")
    before = counts(env)

    answers = _all_at_once(env, [poison, *requests])

    assert [a.status_code for a in answers] == [500, 200, 200, 200]
    stored = _reports(env)
    assert phones[0].id not in stored  # the failed request wrote nothing
    assert all(stored[p.id] == [f"r_fine_{n:02d}"] for n, p in enumerate(phones[1:]))
    assert counts(env)["device_reports"] == before["device_reports"] + 3


def test_a_forged_request_does_not_move_the_named_devices_last_seen(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who)
    phone.policy()
    with env.session() as session:
        seen = session.get(Device, phone.id)
        assert seen is not None
        before = seen.last_seen_at
    env.clock.advance(timedelta(minutes=5))  # past the granularity: a real request moves it
    body, headers = _report(phone, "r_forged_seen")
    answers = _all_at_once(env, [(body.replace(b"r_forged_seen", b"r_forged_seex"), headers)])
    assert [a.status_code for a in answers] == [401]
    with env.session() as session:
        device = session.get(Device, phone.id)
        assert device is not None and device.last_seen_at == before
    phone.policy()  # a genuine request does
    with env.session() as session:
        device = session.get(Device, phone.id)
        assert device is not None and device.last_seen_at == env.clock.now()


def _straight_to_the_app(env: Env, requests: Sequence[tuple[str, Request, bool]]) -> list[int]:
    """Send each request (method, signed request, leaves) at once straight to the ASGI
    app; one that ``leaves`` comes from a client that closes its connection once its body
    is sent (as one that timed out while its request waited in the queue). Returns each
    request's status."""
    app = env.client.app

    async def one(method: str, request: Request, leaves: bool) -> int:
        body, headers = request
        path = "/v1/state" if method == "POST" else "/v1/policy"
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 40000),
            "server": ("test", 80),
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            if leaves:
                return {"type": "http.disconnect"}
            await asyncio.Event().wait()  # connected until the answer is sent
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)
        return statuses[0]

    async def all_at_once() -> list[int]:
        return list(await asyncio.gather(*(one(*request) for request in requests)))

    return asyncio.run(all_at_once())


def _check_in(phone: Phone) -> Request:
    return b"", phone.signed("GET", "/v1/policy")


def _nonces(env: Env, phone: Phone) -> int:
    with env.session() as session:
        found = session.scalar(
            select(func.count()).select_from(DeviceNonce).where(DeviceNonce.device_id == phone.id)
        )
        return int(found or 0)


def test_a_queued_check_in_whose_client_has_gone_is_dropped_and_a_report_kept(
    env: Env,
) -> None:
    who = actors(env)
    staying, leaving = Phone(env, who), Phone(env, who)
    staying.policy()
    leaving.policy()
    writes = _writes(env)
    before = writes.dropped
    nonces = _nonces(env, leaving)

    statuses = _straight_to_the_app(
        env,
        [
            ("GET", _check_in(staying), False),
            ("GET", _check_in(leaving), True),
            ("POST", _report(staying, "r_still_here"), False),
            ("POST", _report(leaving, "r_gave_up"), True),
        ],
    )

    # The check-in nobody waits for is dropped unrecorded (499, read by no one); the
    # report is recorded all the same: it is the device's state.
    assert statuses == [200, 499, 200, 200]
    assert writes.dropped == before + 1
    assert _reports(env) == {staying.id: ["r_still_here"], leaving.id: ["r_gave_up"]}
    assert _nonces(env, leaving) == nonces + 1  # the report's: the check-in wrote nothing
    # The report's retry (the same report, signed anew) finds it recorded.
    again = _straight_to_the_app(env, [("POST", _report(leaving, "r_gave_up"), False)])
    assert again == [200]
    assert _reports(env)[leaving.id] == ["r_gave_up"]


def test_a_batch_of_reports_reads_each_thing_once(env: Env) -> None:
    """A batch's reports take their devices' locks once and read the installed apps once
    (the inventories they store are judged as they are, not read back): each statement
    waits for the database, and the writer serves every device in turn."""
    who = actors(env)
    phones = [Phone(env, who) for _ in range(12)]
    for phone in phones:
        phone.policy()
    _all_at_once(env, [_report(phone, f"r_first_{n:02d}") for n, phone in enumerate(phones)])
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(" ".join(statement.split()))

    report_batches = _writes(env).report_batches
    event.listen(env.engine, "before_cursor_execute", record)
    try:
        answers = _all_at_once(
            env, [_report(phone, f"r_again_{n:02d}") for n, phone in enumerate(phones)]
        )
    finally:
        event.remove(env.engine, "before_cursor_execute", record)
    assert [a.status_code for a in answers] == [200] * len(phones)
    batches = _writes(env).report_batches - report_batches
    assert batches >= 1
    locks = [
        s
        for s in sent
        if s.startswith("SELECT devices.id FROM devices") and s.endswith("FOR NO KEY UPDATE")
    ]
    apps = [s for s in sent if s.startswith("SELECT device_apps.device_id")]
    postgresql = env.engine.dialect.name == "postgresql"
    assert len(locks) == (batches if postgresql else 0)  # SQLite has one writer: no row locks
    assert len(apps) == batches, apps
