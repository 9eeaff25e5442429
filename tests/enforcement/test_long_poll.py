"""GET /v1/policy?wait=N: held until the device's policy changes, or 304 after N seconds."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from appwarden.protocol.v1.signing import signed_headers
from tests.decisions.support import actors, ok, reach, seed_catalog
from tests.enforcement.polling import Poll, distributor_of, signed_get, until_parked
from tests.enforcement.test_policy_endpoint import APP_TARGET, TIKTOK, Phone
from tests.server import Env


def test_a_parked_long_poll_returns_the_ban_as_soon_as_it_is_approved(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone, bystander = Phone(env, who, "government-issued"), Phone(env, who, "Staff")
    first: dict[str, Any] = ok(signed_get(phone, "/v1/policy"))
    calm: dict[str, Any] = ok(signed_get(bystander, "/v1/policy"))
    assert first["policy"]["banned"] == []

    poll, other = Poll(phone, first["etag"], 120), Poll(bystander, calm["etag"], 3)
    poll.start()
    other.start()
    until_parked(env, 2)
    reach(env, who, catalog, "in_force", target=APP_TARGET)

    answer = poll.result()
    body = ok(answer)
    assert body["policy"]["banned"] == [TIKTOK]
    assert body["version"] == first["version"] + 1
    assert answer.headers["etag"] == f'"{body["etag"]}"'
    assert other.result().status_code == 304  # not in scope: kept waiting, then timed out


def test_a_long_poll_times_out_with_304(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who, "government-issued")
    etag = ok(signed_get(phone, "/v1/policy"))["etag"]
    answer = signed_get(phone, "/v1/policy?wait=1", **{"If-None-Match": f'"{etag}"'})
    assert answer.status_code == 304 and answer.content == b""
    assert answer.headers["etag"] == f'"{etag}"'


def test_a_long_poll_with_an_old_etag_or_none_answers_at_once(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who, "government-issued")
    current = ok(signed_get(phone, "/v1/policy"))
    stale = signed_get(phone, "/v1/policy?wait=300", **{"If-None-Match": '"' + "0" * 64 + '"'})
    assert ok(stale) == current
    assert ok(signed_get(phone, "/v1/policy?wait=300")) == current


@pytest.mark.parametrize("wait", ["301", "-1", "soon", "1.5"])
def test_a_wait_out_of_range_is_a_422_problem(env: Env, wait: str) -> None:
    who = actors(env)
    phone = Phone(env, who, "government-issued")
    answer = signed_get(phone, f"/v1/policy?wait={wait}")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_signature_over_another_query_is_refused(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who, "government-issued")
    signed = signed_headers(
        phone.key,
        device_id=phone.id,
        method="GET",
        target="/v1/policy?wait=1",
        timestamp=int(env.clock.now().timestamp()),
    )
    assert env.client.get("/v1/policy?wait=300", headers=signed).status_code == 401


def test_stopping_releases_parked_long_polls(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who, "government-issued")
    etag = ok(signed_get(phone, "/v1/policy"))["etag"]
    poll = Poll(phone, etag, 300)
    poll.start()
    until_parked(env, 1)
    distributor = distributor_of(env)
    loop = distributor._loop  # noqa: SLF001 - as the signal handler does
    assert loop is not None
    loop.call_soon_threadsafe(distributor.stopping)
    assert poll.result().status_code == 304


def test_reading_the_policy_compiles_nothing_until_the_clock_changes_it(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from appwarden.enforcement import versions

    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who, "government-issued")
    reach(env, who, catalog, "in_force", target=APP_TARGET)
    banned = ok(signed_get(phone, "/v1/policy"))
    assert banned["policy"]["banned"] == [TIKTOK]

    compiled: list[str] = []
    real = versions.compile_policy

    def counting(device: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(device.device_id)
        return real(device, *args, **kwargs)

    monkeypatch.setattr(versions, "compile_policy", counting)
    for _ in range(3):
        assert ok(signed_get(phone, "/v1/policy")) == banned
    assert compiled == []

    env.clock.advance(timedelta(days=91))  # the ban's end date passes
    lapsed = ok(signed_get(phone, "/v1/policy"))
    assert lapsed["policy"]["banned"] == [] and lapsed["version"] == banned["version"] + 1
    assert compiled == [phone.id]


def test_check_ins_after_a_ban_answer_without_a_database_read_of_their_own(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from appwarden.protocol.v1 import views

    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who, "government-issued")
    first = ok(signed_get(phone, "/v1/policy"))
    poll = Poll(phone, first["etag"], 120)
    poll.start()
    until_parked(env, 1)
    reach(env, who, catalog, "in_force", target=APP_TARGET)
    banned = ok(poll.result())
    assert distributor_of(env).known_enabled

    reads: list[str] = []
    real = views._read  # noqa: SLF001 - counted, not replaced

    def counting(context: Any, documents: Any, device: Any) -> Any:
        reads.append(device.id)
        return real(context, documents, device)

    monkeypatch.setattr(views, "_read", counting)
    again = signed_get(phone, "/v1/policy?wait=1", **{"If-None-Match": f'"{banned["etag"]}"'})
    assert again.status_code == 304 and reads == []  # the distributor told it the version

    stale = signed_get(phone, "/v1/policy?wait=1", **{"If-None-Match": f'"{first["etag"]}"'})
    assert ok(stale) == banned and reads == []  # an older ETag: the newer one, from memory
    plain = signed_get(phone, "/v1/policy", **{"If-None-Match": f'"{banned["etag"]}"'})
    assert plain.status_code == 304 and reads == []  # read with the signature check

    env.clock.advance(timedelta(days=91))  # the ban lapses: what is known counts for nothing
    lapsed = ok(signed_get(phone, "/v1/policy?wait=1", **{"If-None-Match": f'"{banned["etag"]}"'}))
    assert lapsed["policy"]["banned"] == [] and lapsed["version"] == banned["version"] + 1
    assert reads == [phone.id]  # compiled anew, in the thread, as before


def test_a_ban_distributed_between_the_signature_check_and_parking_is_not_missed(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The version read with the signature check is older than the ban distributed before
    the long-poll parks: the long-poll answers with the ban at once, not at its timeout."""
    import asyncio

    from appwarden.protocol.v1.batching import DeviceWrites

    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who, "government-issued")
    first = ok(signed_get(phone, "/v1/policy"))
    checked, distributed = threading.Event(), threading.Event()
    real = DeviceWrites.authenticate_for_policy

    async def held(self: DeviceWrites, signed: Any, gone: Any = None) -> Any:
        answer = await real(self, signed, gone)
        if signed.device_id == phone.id and not checked.is_set():
            checked.set()  # the version is read; hold the request until the ban is out
            await asyncio.to_thread(distributed.wait, 30)
        return answer

    monkeypatch.setattr(DeviceWrites, "authenticate_for_policy", held)
    poll = Poll(phone, first["etag"], 60)
    poll.start()
    assert checked.wait(30)
    reach(env, who, catalog, "in_force", target=APP_TARGET)
    distributor = distributor_of(env)
    deadline = time.monotonic() + 20
    while (known := distributor.known.newest(phone.id, env.clock.now())) is None or (
        known.version <= first["version"]
    ):
        assert time.monotonic() < deadline, "the ban was never distributed"
        time.sleep(0.01)
    distributed.set()
    answer = poll.result()
    assert ok(answer)["policy"]["banned"] == [TIKTOK]
