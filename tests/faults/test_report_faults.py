"""A server process killed (SIGKILL) in the middle of a burst of state reports.

150 devices each send one report (a full inventory of 20 apps and 3 events), in waves of
25 started 150 ms apart so that many are in flight at once. The server is killed as soon as
10 answers came back, or when the 126th report is sent if that comes first: the server
records reports in batches, so a fast one could otherwise answer the whole burst before the
kill. The last 25 reports therefore always reach a dead server. Then, before and after the
restart:

- each report is recorded fully or not at all: its report id, its device's state, its 20
  installed apps and its 3 events, or none of them;
- every report that was answered is recorded (answers come after the commit);
- sent again with the same report ids (newly signed), every report is accepted, those
  recorded before get the same answer, and each report's events are there exactly once;
- every device then holds its current policy version; ``appwarden audit verify`` passes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from appwarden.compliance.models import DeviceEvent, DeviceReport, DeviceState, InstalledApp
from appwarden.db import make_engine
from appwarden.enforcement.models import DevicePolicyVersion
from appwarden.protocol.v1.signing import signed_headers
from appwarden.sim.drill import local_tokens
from appwarden.sim.drill_server import LocalServer
from tests.enforcement.live import Device, live_postgres
from tests.faults.drills import audit_verify, new_server

__all__ = ["live_postgres"]  # the fixture, for the PostgreSQL run
pytestmark = [pytest.mark.slow, pytest.mark.anyio]
DEVICES, APPS, EVENTS, KILL_AFTER, KILL_AT_SEND = 150, 20, 3, 10, 125
WAVE, WAVE_GAP_S = 25, 0.15


def report_body(version: int) -> dict[str, Any]:
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "report_id": uuid.uuid4().hex,
        "applied_version": version,
        "inventory": {
            "kind": "full",
            "apps": [{"app_id": f"org.example.app{n}", "signer": None} for n in range(APPS)],
        },
        "events": [
            {"kind": "removed", "app_id": f"org.example.gone{n}", "rule": None, "at": at}
            for n in range(EVENTS)
        ],
    }


async def send(
    http: httpx.AsyncClient, device: Device, body: dict[str, Any]
) -> httpx.Response | None:
    raw = json.dumps(body).encode()
    headers = signed_headers(
        device.key,
        device_id=device.id,
        method="POST",
        target="/v1/state",
        body=raw,
        timestamp=int(time.time()),
    )
    headers["Content-Type"] = "application/json"
    try:
        return await http.post("/v1/state", content=raw, headers=headers)
    except httpx.TransportError:
        return None


async def enroll(server: LocalServer, folder: Path) -> list[tuple[Device, int]]:
    """The devices (enrolled at once), each with its current policy version."""
    operator = await asyncio.to_thread(lambda: local_tokens(server, folder).operator)
    headers = {"Authorization": f"Bearer {operator}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        api = "/api/v1"
        group = (await http.post(f"{api}/groups", json={"name": "burst"}, headers=headers)).json()
        body = {"group_id": group["id"], "max_uses": DEVICES}
        issued = await http.post(f"{api}/enrollment-tokens", json=body, headers=headers)
        token = issued.json()["token"]

        async def one() -> tuple[Device, int]:
            key, body = Device.enrollment(token)
            enrolled = await http.post("/v1/enroll", json=body)
            assert enrolled.status_code == 201, enrolled.text
            device = Device(enrolled.json()["device_id"], key)
            signed = signed_headers(
                key, device_id=device.id, method="GET", target="/v1/policy",
                timestamp=int(time.time()),
            )  # fmt: skip
            policy = await http.get("/v1/policy", headers=signed)
            assert policy.status_code == 200, policy.text
            return device, int(policy.json()["version"])

        return list(await asyncio.gather(*(one() for _ in range(DEVICES))))


def recorded(server: LocalServer) -> dict[str, dict[str, int]]:
    """Per report id recorded: its events, and its device's state and installed apps."""
    engine = make_engine(server.settings.database, pool_size=1)
    try:
        with engine.connect() as connection:
            reports = {
                r.report_id: r.device_id
                for r in connection.execute(select(DeviceReport.report_id, DeviceReport.device_id))
            }
            events = Counter(connection.scalars(select(DeviceEvent.report_id)))
            states = {
                r.device_id: r.report_id
                for r in connection.execute(select(DeviceState.device_id, DeviceState.report_id))
            }
            apps = Counter(connection.scalars(select(InstalledApp.device_id)))
            stray = set(events) - set(reports)
            assert not stray, f"events of reports never recorded: {stray}"
            orphans = set(apps) - set(states)
            assert not orphans, f"installed apps without a recorded report: {orphans}"
            total = connection.scalar(select(func.count()).select_from(DeviceEvent))
            assert total == sum(events.values())
        return {
            report: {
                "events": events[report],
                "state": int(states.get(device) == report),
                "apps": apps[device],
            }
            for report, device in reports.items()
        }
    finally:
        engine.dispose()


def on_current_version(server: LocalServer) -> int:
    engine = make_engine(server.settings.database, pool_size=1)
    try:
        with engine.connect() as connection:
            query = (
                select(func.count())
                .select_from(DeviceState)
                .join(DevicePolicyVersion, DevicePolicyVersion.device_id == DeviceState.device_id)
                .where(DeviceState.applied_version == DevicePolicyVersion.version)
            )
            return int(connection.scalar(query) or 0)
    finally:
        engine.dispose()


def all_or_nothing(found: dict[str, dict[str, int]]) -> None:
    whole = {"events": EVENTS, "state": 1, "apps": APPS}
    half = {report: row for report, row in found.items() if row != whole}
    assert not half, f"reports recorded in part: {half}"


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
async def test_sigkill_during_a_burst_of_state_reports(
    store: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPWARDEN_DB_POOL_SIZE", "2")
    url = None if store == "sqlite" else str(request.getfixturevalue("live_postgres"))
    server = new_server(tmp_path, url)
    server.start()
    try:
        devices = await enroll(server, tmp_path)
        bodies = [report_body(version) for _device, version in devices]
        answered: dict[str, dict[str, Any]] = {}
        limits = httpx.Limits(max_connections=DEVICES)
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as http:
            killed = False

            def kill() -> None:
                nonlocal killed
                if not killed:
                    killed = True
                    assert server.process is not None
                    os.kill(server.process.pid, signal.SIGKILL)

            async def one(index: int, device: Device, body: dict[str, Any]) -> None:
                await asyncio.sleep(index // WAVE * WAVE_GAP_S)
                if index == KILL_AT_SEND:
                    kill()
                answer = await send(http, device, body)
                if answer is not None and answer.status_code == 200:
                    answered[body["report_id"]] = answer.json()
                    if len(answered) == KILL_AFTER:
                        kill()

            pairs = enumerate(zip((d for d, _v in devices), bodies, strict=True))
            await asyncio.gather(*(one(i, device, body) for i, (device, body) in pairs))
        assert server.process is not None
        server.process.wait(timeout=30)

        before = recorded(server)
        all_or_nothing(before)
        assert set(answered) <= set(before), "a report was answered but not recorded"
        assert len(before) < DEVICES, "the burst ended before the kill"

        server.start()
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as http:
            pairs = zip((d for d, _v in devices), bodies, strict=True)
            again = await asyncio.gather(*(send(http, device, body) for device, body in pairs))
        for body, answer in zip(bodies, again, strict=True):
            assert answer is not None and answer.status_code == 200, answer
            if body["report_id"] in answered:
                assert answer.json() == answered[body["report_id"]]
        after = recorded(server)
        all_or_nothing(after)
        assert set(after) == {body["report_id"] for body in bodies}
        assert on_current_version(server) == DEVICES
        audit = audit_verify(server)
        print(
            f"[sigkill report burst {store}] {len(answered)} answered and {len(before)} "
            f"recorded (whole) at the kill; {len(after)}/{DEVICES} recorded once each after "
            f"the retries ({sum(r['events'] for r in after.values())} events); audit {audit}"
        )
    finally:
        server.stop()
