"""``appwarden agent`` and ``appwarden simulate`` against the fake server over sockets."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from appwarden.cli.main import app
from bench._limit_server import LimitState, create_app
from tests.sim.servers import serving


def test_agent_enrolls_once_then_runs_from_its_state_file(tmp_path: Path) -> None:
    state = LimitState()
    state.ban("com.example.banned")
    saved = tmp_path / "agent.json"
    runner = CliRunner()
    with serving(create_app(state)) as url:
        first = runner.invoke(
            app,
            ["agent", "--server", url, "--state", str(saved), "--token", "t", "--once",
             "--app", "com.example.banned", "--app", "com.example.kept"],
        )  # fmt: skip
        assert first.exit_code == 0, first.output
        kept = json.loads(saved.read_text())
        assert kept["identity"]["device_id"].startswith("d_")
        assert [a["app_id"] for a in kept["apps"]] == ["com.example.kept"]
        assert kept["policy"]["version"] == state.version
        again = runner.invoke(app, ["agent", "--server", url, "--state", str(saved), "--once"])
        assert again.exit_code == 0, again.output
    assert state.enrolled == 1  # the second run used the saved identity
    assert saved.stat().st_mode & 0o077 == 0  # the key is private
    removal = [r for r in state.reports if r[2]["events"]]
    assert [e["kind"] for e in removal[0][2]["events"]] == ["removed"]


def test_agent_without_state_or_token_fails_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["agent", "--server", "http://127.0.0.1:9", "--state", str(tmp_path / "s.json")]
    )
    assert result.exit_code == 1
    assert "give --token" in result.output


def test_simulate_runs_a_fleet_for_a_while(tmp_path: Path) -> None:
    with serving(create_app()) as url:
        result = CliRunner().invoke(
            app,
            ["simulate", "--server", url, "--devices", "6", "--token", "t", "--duration", "3",
             "--install-base", "com.example.a=0.5", "--state-dir", str(tmp_path)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary == {"devices": 6, "enrolled": 6, "synced": 6, "errors": 0}
    assert len((tmp_path / "identities.jsonl").read_text().splitlines()) == 6


def test_a_drill_puts_back_the_sigterm_handler_it_replaced() -> None:
    """A drill turns SIGTERM into KeyboardInterrupt while it runs; run inside a longer
    process (a test run), it must not leave that handler behind."""
    from appwarden.sim.drill_server import interrupt_on_sigterm

    before = signal.getsignal(signal.SIGTERM)
    restore = interrupt_on_sigterm()
    during = signal.getsignal(signal.SIGTERM)
    assert during is not before and callable(during)
    with pytest.raises(KeyboardInterrupt):
        during(signal.SIGTERM, None)  # type: ignore[operator]
    restore()
    assert signal.getsignal(signal.SIGTERM) is before
