"""The fleet: its plan, its split over processes and addresses, saved identities, and 20
agents in one event loop against the fake server over real sockets."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from appwarden.sim.fleet import ShardConfig, parse_install_base, plan_fleet
from appwarden.sim.inventory import InstalledApp
from appwarden.sim.processes import MAX_AGENTS_PER_PROCESS, split
from appwarden.sim.simulate import SimulationOptions, build_fleet, save_identities
from appwarden.sim.store import FleetStore
from bench._limit_server import create_app
from tests.sim.servers import serving

pytestmark = pytest.mark.anyio
APP = "com.example.chat"


def test_install_base_spec() -> None:
    (one, two) = parse_install_base(f"{APP}=0.25, org.x:{'ab' * 32}")
    assert one.app == InstalledApp(APP) and one.share == 0.25
    assert two.app == InstalledApp("org.x", "ab" * 32) and two.share == 1.0
    with pytest.raises(ValueError):
        parse_install_base(f"{APP}=1.5")


def test_the_plan_is_exact_and_reproducible() -> None:
    base = parse_install_base(f"{APP}=0.3")
    plan = plan_fleet(1000, base, jitter=5.0, offline_share=0.1, seed=7)
    assert sum(1 for d in plan if d.apps) == 300
    assert sum(1 for d in plan if d.offline) == 100
    assert all(0 <= d.delay <= 5.0 for d in plan)
    assert plan == plan_fleet(1000, base, jitter=5.0, offline_share=0.1, seed=7)
    assert plan != plan_fleet(1000, base, jitter=5.0, offline_share=0.1, seed=8)


def test_a_large_fleet_is_split_over_processes_and_source_addresses() -> None:
    specs = plan_fleet(100_000)
    template = ShardConfig(server="http://127.0.0.1:8000", specs=specs)
    shards = split(specs, template, processes=2)
    assert len(shards) == 7 and max(len(s.specs) for s in shards) <= MAX_AGENTS_PER_PROCESS
    addresses = [s.local_address for s in shards]
    assert addresses == [f"127.0.0.{n}" for n in range(2, 9)]
    assert sorted(d.index for s in shards for d in s.specs) == list(range(100_000))
    remote = ShardConfig(server="https://mdm.example.org", specs=specs)
    assert {s.local_address for s in split(specs, remote, processes=2)} == {None}
    assert len(split(plan_fleet(10), template, processes=0)) == 1


def test_saved_identities_belong_to_one_server(tmp_path: object) -> None:

    store = FleetStore(Path(str(tmp_path)))
    assert store.prepare("http://a") == {}
    store.add({3: {"device_id": "d3", "private_key": "k"}})
    assert store.load("http://a/") == {3: {"device_id": "d3", "private_key": "k"}}
    assert store.prepare("http://b") == {}
    assert store.load("http://a") == {}


async def test_twenty_agents_enroll_sync_and_comply_over_http(tmp_path: object) -> None:

    with serving(create_app()) as url:
        options = SimulationOptions(
            server=url,
            devices=20,
            token="any",
            install_base=parse_install_base(f"{APP}=0.5"),
            offline_share=0.1,
            state_dir=Path(str(tmp_path)),
            wait=30,
            watch_app=APP,
        )
        fleet = build_fleet(options)
        holders = {s.index for sh in fleet.shards for s in sh.specs if s.apps and not s.offline}
        await fleet.start()
        try:
            assert await fleet.wait_for(lambda s: len(s.synced) == 20, 60)
            async with httpx.AsyncClient(base_url=url) as http:
                (await http.post("/limit/ban", json={"app_id": APP})).raise_for_status()
            assert await fleet.wait_for(lambda s: holders <= s.compliant.keys(), 60)
        finally:
            await fleet.stop()
        save_identities(fleet, options)
        assert fleet.status.errors == []
        assert len(holders) >= 8 and set(fleet.status.compliant) == holders
        assert len(FleetStore(Path(str(tmp_path))).load(url)) == 20


def test_drill_figures_json_and_chart(tmp_path: object) -> None:
    import json

    from appwarden.sim.drill_report import DrillResult, plot, time_to, write_json

    folder = Path(str(tmp_path))
    times = [0.2 + n / 100 for n in range(95)]  # 95 of 100 holders complied
    result = DrillResult.measure(
        times, online=120, affected=100, devices=130, app=APP, server="http://x", store="sqlite",
        workers=1, processes=0, determination=4, start_s=1.0, errors=0,
    )  # fmt: skip
    assert (result.t50_s, result.t90_s) == (time_to(times, 100, 50), time_to(times, 100, 90))
    assert result.t50_s == 0.69 and result.t99_s is None and result.t100_s is None
    assert (result.compliant, result.non_compliant) == (115, 5)
    write_json(result, folder / "out" / "drill.json")
    document = json.loads((folder / "out" / "drill.json").read_text())
    for key in ("devices", "online", "t50_s", "t90_s", "t99_s", "t100_s", "compliant"):
        assert key in document
    assert document["non_compliant"] == 5 and document["devices"] == 130
    plot(result, folder / "out" / "drill.png")
    assert (folder / "out" / "drill.png").read_bytes()[:4] == b"\x89PNG"
    assert time_to([], 0, 99) == 0.0


_PARENT = """
import asyncio, sys
from appwarden.sim.simulate import SimulationOptions, build_fleet

async def main() -> None:
    fleet = build_fleet(SimulationOptions(server=sys.argv[1], devices=4, processes=2))
    await fleet.start()
    print(" ".join(str(c.pid) for c in fleet._children), flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_simulator_processes_end_with_a_killed_parent() -> None:
    """A benchmark killed mid-run must not leave its simulator loading the machine."""
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        server = f"http://127.0.0.1:{silent.getsockname()[1]}"
        parent = subprocess.Popen(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", _PARENT, server], stdout=subprocess.PIPE, text=True
        )
        try:
            assert parent.stdout is not None
            children = [int(pid) for pid in parent.stdout.readline().split()]
            assert len(children) == 2
            assert all(_alive(pid) for pid in children)  # waiting on the silent server
            parent.kill()
            parent.wait(timeout=10)
            deadline = time.monotonic() + 20
            while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not any(_alive(pid) for pid in children)
        finally:
            if parent.poll() is None:
                parent.kill()


def _alive(pid: int) -> bool:
    """Running, not a zombie (an orphan's zombie is reaped by init, not by us)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
