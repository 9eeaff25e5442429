"""/metrics: off without a token, refused with a wrong one; counts by route template."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from appwarden.auth.roles import Role
from appwarden.metrics import MULTIPROCESS_ENV
from appwarden.sim.drill_server import LocalServer
from tests.fleet.helpers import create_group, enroll, issue_token
from tests.server import running_env

TOKEN = "metrics-token-for-tests"


def _value(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[: line.rindex("}")]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_are_off_without_a_token(database_url: str, tmp_path: Path) -> None:
    with running_env(database_url, tmp_path / "data") as env:
        response = env.client.get("/metrics")
    assert response.status_code == 404 and "APPWARDEN_METRICS_TOKEN" in response.text


def test_metrics_by_route_template(database_url: str, tmp_path: Path) -> None:
    with running_env(database_url, tmp_path / "data", metrics_token=TOKEN) as env:
        assert env.client.get("/metrics").status_code == 401
        wrong = env.client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        token = env.user("olu", Role.operator)
        for number in (1, 2, 3):
            env.client.get(f"/api/v1/devices/d-{number}", headers=env.headers(token))
        env.client.get("/no/such/path/123")
        group = create_group(env, token, name="phones")
        enroll(env, issue_token(env, token, group["id"]))
        text = env.client.get("/metrics", headers=env.headers(TOKEN)).text
    assert "# TYPE appwarden_http_requests_total counter" in text
    route = "/api/v1/devices/{device_id}"
    assert _value(text, "appwarden_http_requests_total", route=route, status="404") == 3
    assert "d-1" not in text and "/no/such/path" not in text  # never the raw path
    assert _value(text, "appwarden_http_requests_total", route="unmatched") == 1
    assert _value(text, "appwarden_http_request_duration_seconds_count", route=route) == 3
    assert _value(text, "appwarden_devices", state="active", compliance="unjudged") == 1


def test_with_several_workers_each_scrape_counts_every_workers_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scrape reaches one worker; it must still count what every worker answered."""
    monkeypatch.setenv("APPWARDEN_METRICS_TOKEN", TOKEN)
    monkeypatch.delenv(MULTIPROCESS_ENV, raising=False)
    server = LocalServer(tmp_path / "data", workers=2)
    server.start()
    try:
        metrics_dir = tmp_path / "data" / "metrics"

        def refused(_: int) -> int:  # a new connection each: the workers take turns
            return httpx.get(f"{server.url}/api/v1/devices/d-1", timeout=30).status_code

        # Which worker accepts a connection is the kernel's choice; on a busy machine one
        # worker can take a whole batch. Send batches until both have answered something.
        sent = 0
        workers: set[str] = set()
        with ThreadPoolExecutor(max_workers=12) as pool:
            while len(workers) < 2 and sent < 1200:
                assert set(pool.map(refused, range(60))) == {401}
                sent += 60
                workers = {p.name for p in metrics_dir.glob("counter_*.db")}
        assert len(workers) == 2, (workers, sent)  # both workers answered some of them
        headers = {"Authorization": f"Bearer {TOKEN}"}
        for _ in range(6):  # whichever worker answers the scrape
            text = httpx.get(f"{server.url}/metrics", headers=headers, timeout=30).text
            route = "/api/v1/devices/{device_id}"
            assert _value(text, "appwarden_http_requests_total", route=route, status="401") == sent
    finally:
        server.stop()
