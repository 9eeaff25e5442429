"""The distributor judges compliance on its own: after a ban takes force, the devices in
scope are `pending` (with a history row) without anyone reading compliance or reporting."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from appwarden.compliance import service as compliance
from appwarden.compliance.models import ComplianceHistory, ComplianceStatus
from appwarden.protocol.v1 import wakeups
from tests.compliance.support import APP_TARGET, TIKTOK, Phone
from tests.decisions.support import actors, ok, reach, seed_catalog
from tests.enforcement.conftest import MakeEnv
from tests.enforcement.polling import Poll, until_parked
from tests.enforcement.polling import signed_get as get
from tests.enforcement.test_policy_endpoint import Phone as PolicyPhone
from tests.server import Env


def _statuses(env: Env) -> list[tuple[str, int, str]]:
    with env.session() as session:
        rows = session.execute(
            select(
                ComplianceStatus.device_id,
                ComplianceStatus.determination_id,
                ComplianceStatus.status,
            ).order_by(ComplianceStatus.device_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _due(env: Env) -> set[str]:
    with env.session() as session:
        return compliance.due(session, env.clock.now(), env.settings)


def _wait_for(env: Env, count: int) -> list[tuple[str, int, str]]:
    """The statuses once ``count`` exist (the distributor runs in the app's own thread)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = _statuses(env)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return _statuses(env)


def test_a_ban_in_force_makes_its_devices_pending_without_a_read(make_env: MakeEnv) -> None:
    env = make_env(judge_interval_s=0.2)
    who, catalog = actors(env), seed_catalog(env)
    phones = [Phone(env, who) for _ in range(3)]
    for phone in phones:
        ok(phone.report({TIKTOK: None}))  # every phone holds the app before the ban
    assert _statuses(env) == []  # nothing in force: nothing to judge
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    found = _wait_for(env, 3)
    assert sorted(found) == sorted((p.id, number, "pending") for p in phones)
    with env.session() as session:
        history = session.scalars(select(ComplianceHistory.status)).all()
    assert list(history) == ["pending"] * 3
    # The first phone removes the app and reports: compliant, the others stay pending.
    ok(phones[0].report({}))
    assert {d: s for d, _n, s in _statuses(env)} == {
        phones[0].id: "compliant",
        phones[1].id: "pending",
        phones[2].id: "pending",
    }


def test_while_reports_pour_in_the_judging_waits_but_not_for_ever(make_env: MakeEnv) -> None:
    """During a propagation the devices are about to be judged by their own reports; the
    periodic judging holds back, for at most one more interval."""
    env = make_env(judge_interval_s=0.2)
    distributor = env.client.app.state.distributor  # type: ignore[attr-defined]
    asked: list[bool] = []

    def always_busy() -> bool:
        asked.append(True)
        return True

    distributor.busy = always_busy
    who, catalog = actors(env), seed_catalog(env)
    phones = [Phone(env, who) for _ in range(2)]
    for phone in phones:
        ok(phone.report({TIKTOK: None}))
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    found = _wait_for(env, 2)  # judged all the same, once it had waited its interval
    assert sorted(found) == sorted((p.id, number, "pending") for p in phones)
    assert asked  # it did ask, and held back first


def test_the_device_writer_is_busy_while_it_records_reports(make_env: MakeEnv) -> None:
    env = make_env()
    writes = env.client.app.state.device_writes  # type: ignore[attr-defined]
    who = actors(env)
    phone = Phone(env, who)
    phone.policy()
    assert not writes.busy()  # signed requests alone are not reports
    ok(phone.report({TIKTOK: None}))
    assert writes.busy(within_s=3600)
    assert not writes.busy(within_s=0)


def test_after_waking_long_polls_the_judging_waits_for_their_reports(make_env: MakeEnv) -> None:
    """Woken devices report within seconds, and their reports judge them; until those
    reports begin, the device writes are not busy yet, so the wake-up itself holds the
    judging back (at most one more interval, as ever)."""
    env = make_env(judge_interval_s=30)
    distributor = env.client.app.state.distributor  # type: ignore[attr-defined]
    distributor.busy = lambda: False
    assert not distributor.judging_waits(100.0, 100.0, 30.0)  # quiet: it judges
    distributor.woke_at = 99.0  # a long-poll was woken a second ago
    assert distributor.judging_waits(100.0, 100.0, 30.0)
    assert not distributor.judging_waits(100.0 + wakeups.WOKEN_QUIET_S, 100.0, 30.0)
    assert not distributor.judging_waits(131.0, 100.0, 30.0)  # waited its interval
    distributor.busy = lambda: True  # reports being recorded: it waits too
    assert distributor.judging_waits(120.0, 100.0, 30.0)
    assert not distributor.judging_waits(130.0, 100.0, 30.0)


def test_a_wake_up_that_reaches_a_long_poll_is_remembered(env: Env) -> None:
    distributor = env.client.app.state.distributor  # type: ignore[attr-defined]
    who, catalog = actors(env), seed_catalog(env)
    phone = PolicyPhone(env, who, "government-issued")
    first = ok(get(phone, "/v1/policy"))
    assert distributor.woke_at == float("-inf")
    poll = Poll(phone, first["etag"], 120)
    poll.start()
    until_parked(env, 1)
    reach(env, who, catalog, "in_force", target=APP_TARGET)
    assert ok(poll.result())["version"] == first["version"] + 1
    assert distributor.woke_at > float("-inf")


def test_a_judging_under_way_stops_when_long_polls_are_woken(make_env: MakeEnv) -> None:
    """Right after a ban every device in scope is due; a judging that began just then
    stops at its next chunk once this process wakes long-polls (their reports will judge
    them), and finishes only once it has waited its interval or things are quiet."""
    env = make_env(judge_interval_s=3600)  # the judging task stays out of the way
    distributor = env.client.app.state.distributor  # type: ignore[attr-defined]
    distributor.busy = lambda: False
    who, catalog = actors(env), seed_catalog(env)
    phones = [Phone(env, who) for _ in range(3)]
    for phone in phones:
        ok(phone.report({TIKTOK: None}))
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    deadline = time.monotonic() + 20
    while len(_due(env)) < len(phones):  # the ban is compiled into their policies
        assert time.monotonic() < deadline, "the devices never fell due"
        time.sleep(0.05)
    now = distributor._loop_time()
    distributor.woke_at = now  # long-polls were just woken
    assert distributor._judge(now, 30.0) is False
    assert _statuses(env) == []  # nothing judged: the reports will do it
    # Waited its interval: it runs to the end, woken or not.
    assert distributor._judge(now - 31.0, 30.0) is True
    assert sorted(_statuses(env)) == sorted((p.id, number, "pending") for p in phones)


def test_a_long_judging_does_not_hold_up_a_wake_up(make_env: MakeEnv) -> None:
    """The judging has its own task: while one is under way (here it hangs), a ban still
    wakes the long-polls parked in the same process."""
    env = make_env(judge_interval_s=0.05)
    distributor = env.client.app.state.distributor  # type: ignore[attr-defined]
    judging, release = threading.Event(), threading.Event()

    def hanging_judge(*_args: object) -> bool:
        judging.set()
        release.wait(timeout=60)
        return True

    distributor._judge = hanging_judge
    try:
        assert judging.wait(timeout=20), "the judging never began"
        who, catalog = actors(env), seed_catalog(env)
        phone = PolicyPhone(env, who, "government-issued")
        first = ok(get(phone, "/v1/policy"))
        poll = Poll(phone, first["etag"], 20)
        poll.start()
        until_parked(env, 1)
        reach(env, who, catalog, "in_force", target=APP_TARGET)
        answer = poll.result()
        assert answer.status_code == 200, answer.status_code  # not the 304 of a wait run out
        assert answer.json()["version"] == first["version"] + 1
        assert not release.is_set()  # the judging was still under way
    finally:
        release.set()
