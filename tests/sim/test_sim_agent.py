"""The agent against the fake server: enroll, long-poll wake, remove, report, retry."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import httpx
import pytest

from appwarden.clock import FixedClock
from appwarden.sim.agent import Agent
from appwarden.sim.inventory import InstalledApp, inventory_hash
from tests.policy.support import APP, DAY, NOW, rule, waiver
from tests.sim.fakes import agent_on, fake_server
from tests.sim.support import cached

OTHER = "org.example.notes"
pytestmark = pytest.mark.anyio


async def test_enroll_sync_long_poll_wake_remove_and_report() -> None:
    state, _flaky, http = fake_server()
    clock = FixedClock(NOW)
    agent = agent_on(http, clock, APP, OTHER, wait=30)
    identity = await agent.enroll("enroll-token")
    assert identity.device_id.startswith("d_")

    assert await agent.step() is True  # first policy: nothing banned yet
    (first,) = state.reports
    assert first[2]["inventory"]["kind"] == "full" and first[2]["applied_version"] == 1
    accepted = state.accepted[(identity.device_id, first[1])]
    assert accepted["inventory_hash"] == inventory_hash([InstalledApp(APP), InstalledApp(OTHER)])

    waiting = asyncio.create_task(agent.step())  # parks on the long-poll
    await asyncio.sleep(0)
    state.ban(APP)
    assert await asyncio.wait_for(waiting, 10) is True
    assert not agent.packages.has(APP)
    second = state.reports[-1][2]
    assert second["applied_version"] == 2
    assert second["inventory"] == {
        "kind": "delta",
        "base": accepted["inventory_hash"],
        "added": [],
        "removed": [APP],
    }
    assert [(e["kind"], e["app_id"], e["rule"]) for e in second["events"]] == [("removed", APP, 1)]
    report_ids = [r[1] for r in state.reports]
    assert len(set(report_ids)) == len(report_ids)
    await http.aclose()


async def test_a_device_without_the_banned_app_still_reports_the_new_version() -> None:
    """Nothing to remove and nothing changed, but the server must hear that the device
    applied the new policy: until then it counts the device as pending."""
    state, _flaky, http = fake_server()
    agent = agent_on(http, FixedClock(NOW), OTHER)
    await agent.enroll("t")
    await agent.step(wait=0)
    state.ban(APP)
    assert await agent.step(wait=0) is True
    last = state.reports[-1][2]
    assert last["applied_version"] == 2 and last["inventory"] is None and last["events"] == []
    reports = len(state.reports)
    await agent.step(wait=0)  # nothing new: no report
    assert len(state.reports) == reports
    await http.aclose()


async def test_a_report_lost_on_the_network_is_sent_again_with_the_same_id() -> None:
    state, _flaky, http = fake_server()
    agent = agent_on(http, FixedClock(NOW), APP)
    await agent.enroll("t")
    await agent.step()
    state.ban(APP)
    state.fail_next_state = 1
    with pytest.raises(httpx.ReadError):
        await agent.step(wait=0)
    await agent.step(wait=0)
    removal = [r for r in state.reports if r[2]["events"]]
    assert len(removal) == 2 and removal[0][1] == removal[1][1]  # same report id, twice
    assert removal[0][2] == removal[1][2]
    assert len(state.accepted) == len({r[1] for r in state.reports})  # applied once each
    await http.aclose()


async def test_a_device_offline_for_a_week_lets_rules_lapse_on_time_and_converges() -> None:
    state, flaky, http = fake_server()
    clock = FixedClock(NOW)
    agent = agent_on(http, clock, APP)
    await agent.enroll("t")
    await agent.step()
    # The device holds a policy with a waived ban (waiver ends in 2 days) and a block
    # that ends in 3 days; then it drops off the network.
    agent.policy = cached(
        [rule(1, "ban"), rule(2, "block", target_value=OTHER, expires_at=NOW + 3 * DAY)],
        [waiver(9, 1, devices=["d-1"], expires_at=NOW + 2 * DAY)],
    )
    flaky.down = True
    clock.advance(DAY)
    with pytest.raises(httpx.ConnectError):
        await agent.step()
    assert agent.packages.has(APP)
    assert not (await agent.install(InstalledApp(OTHER))).allowed

    clock.advance(DAY + timedelta(seconds=1))  # the waiver lapsed: offline, the ban binds
    with pytest.raises(httpx.ConnectError):
        await agent.step()
    assert not agent.packages.has(APP)

    clock.set(NOW + 7 * DAY)  # the block ended while offline
    assert (await agent.install(InstalledApp(OTHER))).allowed

    flaky.down = False  # back: the report that failed offline goes, then the new inventory
    before = len(state.reports)
    await agent.step(wait=0)
    back, latest = state.reports[before][2], state.reports[-1][2]
    kinds = [(e["kind"], e["app_id"]) for e in back["events"]]
    assert kinds == [("install_blocked", OTHER), ("removed", APP)]
    assert back["inventory"] == {"kind": "delta", "base": back["inventory"]["base"],
                                 "added": [], "removed": [APP]}  # fmt: skip
    assert latest["inventory"]["added"] == [{"app_id": OTHER, "signer": None}]
    assert agent.book.acked == (InstalledApp(OTHER),)
    await http.aclose()


async def test_reconnects_back_off_with_jitter_and_the_state_survives_a_restart() -> None:
    state, flaky, http = fake_server()
    delays: list[float] = []
    stop = asyncio.Event()

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 6:
            stop.set()

    agent = agent_on(http, FixedClock(NOW), APP)
    agent.sleep = sleep
    agent.rng = random.Random(1)  # noqa: S311
    await agent.enroll("t")
    flaky.down = True
    await agent.run(stop)
    assert len(delays) == 6
    for n, delay in enumerate(delays):
        ceiling = min(60.0, 0.5 * 2**n)
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)

    flaky.down = False
    await agent.step(wait=0)
    identity, policy, apps = Agent.restore(agent.state())
    assert identity is not None and identity.device_id == agent.identity.device_id  # type: ignore[union-attr]
    assert policy == agent.policy and apps == agent.packages.inventory()
    await http.aclose()
