"""The simulator and the drill against the real server, on SQLite and PostgreSQL.

They need ``POST /v1/state``; where the server answers it with 404 or 405 (a build without
the route), they are skipped — never for any other answer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from appwarden.app import create_app
from appwarden.auth.roles import Role
from appwarden.clock import FixedClock, SystemClock
from appwarden.config import Settings
from appwarden.sim.drill import DrillOptions, run_drill
from appwarden.sim.drill_api import Tokens
from appwarden.sim.drill_report import plot, write_json
from appwarden.sim.drill_server import LocalServer
from tests.conftest import APPS, require
from tests.decisions.support import seed_catalog, user
from tests.server import Env
from tests.sim.servers import serving

pytestmark = pytest.mark.anyio
TIKTOK = "com.zhiliaoapp.musically"
REQUIRED = ("devices", "online", "t50_s", "t90_s", "t99_s", "t100_s", "compliant", "non_compliant")


def require_state_route(url: str) -> None:
    answer = httpx.post(f"{url}/v1/state", json={})
    if answer.status_code in (404, 405):
        pytest.skip("this server has no POST /v1/state yet")


def _env(settings: Settings, app: Any) -> Env:
    clock = FixedClock(datetime.now(UTC))
    return Env(settings=settings, clock=clock, client=None, engine=app.state.context.engine)  # type: ignore[arg-type]


async def test_a_drill_of_twenty_devices_in_process(database_url: str, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", database_url=database_url, audit_key="k", enroll_limit=1000
    )
    app = create_app(settings, clock=SystemClock())
    env = _env(settings, app)
    seed_catalog(env)  # TikTok with an assessment to cite
    tokens = Tokens(
        operator=user(env, "olu", Role.operator),
        analyst=user(env, "ana", Role.analyst),
        approver=user(env, "alex", Role.approver),
    )
    with serving(app) as url:
        require_state_route(url)
        options = DrillOptions(
            devices=20,
            app=TIKTOK,
            server=url,
            tokens=tokens,
            share=0.5,
            offline_share=0.1,
            state_dir=tmp_path / "drill",
            timeout=60,
            wait=20,
        )
        result = await run_drill(options, Console(quiet=True))
    app.state.context.engine.dispose()

    assert result.errors == 0
    assert result.devices == 20 and result.online == 18
    assert result.affected >= 8 and result.non_compliant == 0
    assert result.compliant == result.online
    assert result.t100_s is not None and result.t50_s is not None
    assert result.t50_s <= result.t90_s <= result.t99_s <= result.t100_s  # type: ignore[operator]
    document = result.document()
    assert set(REQUIRED) <= document.keys()
    write_json(result, tmp_path / "drill.json")
    plot(result, tmp_path / "drill.png")
    assert (tmp_path / "drill.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
async def test_the_drill_starts_a_server_and_signs_its_people_in(tmp_path: Path) -> None:
    evidence = require(APPS / "hello-world.apk")
    server = LocalServer(tmp_path / "server")
    from appwarden.sim.drill_server import bootstrap_people

    bootstrap_people(server.settings, tmp_path)
    server.start()
    try:
        require_state_route(server.url)
        options = DrillOptions(
            devices=10, app="com.example.drill", state_dir=tmp_path, evidence=evidence, timeout=60
        )
        result = await run_drill(options, Console(quiet=True), server=server)
        again = await run_drill(options, Console(quiet=True), server=server)  # reuses the fleet
    finally:
        server.stop()
    for run in (result, again):
        assert run.non_compliant == 0 and run.affected == 10 and run.t100_s is not None
    assert again.determination != result.determination
