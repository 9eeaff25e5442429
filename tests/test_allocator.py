"""The server's memory allocator: jemalloc chosen, preloaded by starting again, inherited by
the workers, its figures in the heap census, and a clear refusal when it cannot be had."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from appwarden import allocator
from appwarden.allocator import PRELOADED, AllocatorUnavailable, preload_environment
from appwarden.cli.main import app as cli
from appwarden.sim.drill_server import LocalServer

LIBRARY = allocator.find_jemalloc()


def installed() -> str:
    """jemalloc's library name, or a skip (in CI, where .ci/run installs it, a failure)."""
    if LIBRARY is None:
        if os.environ.get("CI") == "true":
            pytest.fail("jemalloc (libjemalloc2) is required in CI")
        pytest.skip("jemalloc is not installed")
    return LIBRARY


def found() -> str:
    return "libjemalloc.so.2"


def missing() -> None:
    return None


def test_auto_starts_again_with_jemalloc_preloaded_and_pythons_objects_on_it() -> None:
    env = preload_environment("auto", {"PATH": "/bin"}, loaded=False, find=found)
    assert env == {
        "PATH": "/bin",
        "LD_PRELOAD": "libjemalloc.so.2",
        "PYTHONMALLOC": "malloc",
        PRELOADED: "libjemalloc.so.2",
    }


def test_an_operators_preloads_and_python_allocator_are_kept() -> None:
    given = {"LD_PRELOAD": "libtrace.so", "PYTHONMALLOC": "pymalloc"}
    env = preload_environment("jemalloc", given, loaded=False, find=found)
    assert env is not None
    assert env["LD_PRELOAD"] == "libjemalloc.so.2 libtrace.so"
    assert env["PYTHONMALLOC"] == "pymalloc"


def test_no_restart_when_on_jemalloc_already_or_the_system_allocator_is_chosen() -> None:
    assert preload_environment("auto", {}, loaded=True, find=found) is None
    assert preload_environment("jemalloc", {}, loaded=True, find=found) is None
    assert preload_environment("system", {}, loaded=False, find=found) is None


def test_auto_goes_on_without_jemalloc_when_it_is_not_installed() -> None:
    assert preload_environment("auto", {}, loaded=False, find=missing) is None


def test_jemalloc_by_name_but_not_installed_is_refused() -> None:
    with pytest.raises(AllocatorUnavailable, match="apt-get install libjemalloc2"):
        preload_environment("jemalloc", {}, loaded=False, find=missing)


def test_a_preload_that_did_not_take_is_not_retried() -> None:
    """Started again already (the marker is set) and still not on jemalloc: the loader
    could not preload it. ``auto`` goes on; ``jemalloc`` by name is refused; no loop."""
    env = {PRELOADED: "libjemalloc.so.2", "LD_PRELOAD": "libjemalloc.so.2"}
    assert preload_environment("auto", env, loaded=False, find=found) is None
    with pytest.raises(AllocatorUnavailable, match="could not be preloaded"):
        preload_environment("jemalloc", env, loaded=False, find=found)


def test_serve_refuses_in_one_line_when_jemalloc_cannot_be_preloaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APPWARDEN_ALLOCATOR", "jemalloc")
    monkeypatch.setenv(PRELOADED, "libjemalloc.so.2")  # as if the preload had failed
    result = CliRunner().invoke(cli, ["serve", "--port", "9"])
    assert result.exit_code == 1
    assert "could not be preloaded" in result.output
    assert "APPWARDEN_ALLOCATOR=system" in result.output


def test_an_unknown_allocator_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPWARDEN_ALLOCATOR", "tcmalloc")
    result = CliRunner().invoke(cli, ["serve", "--port", "9"])
    assert result.exit_code != 0
    assert "allocator" in str(result.output) + str(result.exception)


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_served_workers_run_on_jemalloc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``appwarden serve --workers 2`` with jemalloc chosen: the process starts again (same
    id) with jemalloc preloaded, and both workers run on it."""
    installed()
    monkeypatch.setenv("APPWARDEN_ALLOCATOR", "jemalloc")
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    monkeypatch.delenv(PRELOADED, raising=False)
    server = LocalServer(tmp_path / "data", workers=2)
    server.start()
    try:
        assert server.process is not None
        workers = server.worker_pids()
        assert len(workers) == 2
        for pid in [server.process.pid, *workers]:
            assert "libjemalloc" in _maps(pid), pid
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        assert "memory allocator: jemalloc" in server.log.read_text()
    finally:
        server.stop()


def test_the_system_allocator_when_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPWARDEN_ALLOCATOR", "system")
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    server = LocalServer(tmp_path / "data", workers=1)
    server.start()
    try:
        assert server.process is not None
        assert "libjemalloc" not in _maps(server.process.pid)
        assert "memory allocator: system" in server.log.read_text()
    finally:
        server.stop()


FIGURES = textwrap.dedent(
    """
    from appwarden import allocator, diagnostics

    blocks = [bytes(1000) + b"%d" % n for n in range(100_000)]
    held = allocator.stats()["allocated"]
    del blocks
    census = diagnostics.census(top=5)
    print(allocator.in_use(), held, census["jemalloc"]["allocated"], allocator.purge())
    """
)


def test_on_jemalloc_the_census_reads_its_figures_and_a_purge_is_accepted() -> None:
    library = installed()
    env = dict(os.environ, LD_PRELOAD=library, PYTHONMALLOC="malloc")
    run = subprocess.run(
        [sys.executable, "-c", FIGURES], capture_output=True, text=True, check=True, env=env
    )
    used, held, after, purged = run.stdout.split()
    assert used == "jemalloc" and purged == "True"
    assert int(held) > 100_000_000  # the 100,000 blocks of about 1 KB
    assert int(after) < int(held) - 90_000_000  # freed, as jemalloc counts it


def test_without_jemalloc_there_are_no_figures_and_nothing_to_purge() -> None:
    if allocator.jemalloc() is not None:  # pragma: no cover - pytest itself on jemalloc
        pytest.skip("this test process runs on jemalloc")
    assert allocator.stats() is None
    assert allocator.purge() is False
    assert allocator.in_use() == "system"
