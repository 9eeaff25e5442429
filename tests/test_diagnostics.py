"""The heap census: live objects by type, written on SIGUSR2 by a running server."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from appwarden import diagnostics
from appwarden.sim.drill_server import LocalServer
from bench import _census as census


class Parked:
    """Stands for whatever a process might keep after a burst."""


def _count(result: dict[str, object], name: str) -> int:
    types = result["types"]
    assert isinstance(types, list)
    return sum(int(t["count"]) for t in types if t["type"] == name)


def test_a_census_counts_live_objects_by_type_and_forgets_freed_ones() -> None:
    name = f"{__name__}.Parked"
    kept = [Parked() for _ in range(50_000)]
    before = diagnostics.census(top=100_000)  # every type listed
    assert _count(before, name) == 50_000
    counts = [int(t["count"]) for t in before["types"]]
    assert counts == sorted(counts, reverse=True)  # most numerous first
    assert before["pid"] == os.getpid() and int(before["gc_objects"]) >= 50_000
    glibc = before["glibc"]
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert isinstance(glibc, dict) and glibc["in_use_bytes"] > 0 and glibc["heap_bytes"] > 0
    else:
        assert glibc is None
    del kept
    after = diagnostics.census(top=100_000)
    assert _count(after, name) == 0
    # (the first census's own result is among the objects of the second)
    assert int(after["gc_objects"]) < int(before["gc_objects"]) - 49_000


def test_censuses_are_numbered_per_process(tmp_path: Path) -> None:
    first = diagnostics.write_census(tmp_path / "census")
    second = diagnostics.write_census(tmp_path / "census")
    assert [first.name, second.name] == [
        f"census-{os.getpid()}-1.json",
        f"census-{os.getpid()}-2.json",
    ]
    assert json.loads(second.read_text())["pid"] == os.getpid()
    assert not list((tmp_path / "census").glob("*.part"))


def test_not_installed_without_a_folder_or_outside_the_main_thread(tmp_path: Path) -> None:
    async def install(folder: Path | None) -> bool:
        return diagnostics.install(folder)

    assert asyncio.run(install(None)) is False
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(asyncio.run(install(tmp_path))))
    thread.start()
    thread.join()
    assert results == [False]


def _wait_for(folder: Path, pattern: str, timeout: float = 30) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob(pattern))
        if found:
            return found
        time.sleep(0.1)
    return []


@contextmanager
def _server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, census_dir: Path, workers: int = 1
) -> Iterator[LocalServer]:
    """``appwarden serve`` with ``APPWARDEN_HEAP_CENSUS_DIR`` set, stopped afterwards."""
    monkeypatch.setenv("APPWARDEN_HEAP_CENSUS_DIR", str(census_dir))
    server = LocalServer(tmp_path / "data", workers=workers)
    server.start()
    try:
        assert server.process is not None
        yield server
    finally:
        server.stop()


def test_a_running_server_writes_a_census_on_sigusr2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "census"
    with _server(tmp_path, monkeypatch, folder) as server:
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGUSR2)
        written = _wait_for(folder, f"census-{server.process.pid}-*.json")
        assert len(written) == 1
        result = json.loads(written[0].read_text())
        assert result["pid"] == server.process.pid and result["rss_kib"] > 0
        assert _count(result, "builtins.function") > 1_000  # the app's code is live
        assert result["gc_objects"] > 100_000 and result["asyncio_tasks"] >= 1
        import sqlite3  # noqa: F401 - mapped into this process, as into the server

        if "libsqlite3" in Path("/proc/self/maps").read_text():  # shared, so countable
            assert result["sqlite_bytes"] > 0  # the server's SQLite connections
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_a_census_that_cannot_be_written_leaves_the_server_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the census folder should be")
    with _server(tmp_path, monkeypatch, blocked) as server:
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while "could not be written" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "the heap census could not be written" in server.log.read_text()
        assert server.process.poll() is None
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_with_workers_each_worker_writes_its_own_and_the_supervisor_survives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "census"
    with _server(tmp_path, monkeypatch, folder, workers=2) as server:
        assert server.process is not None
        supervisor, workers = server.process.pid, server.worker_pids()
        assert len(workers) == 2 and supervisor not in workers
        os.kill(supervisor, signal.SIGUSR2)  # uvicorn's supervisor takes it and goes on
        deadline = time.monotonic() + 30  # a worker whose app has not started would die
        while not all(census.listening(pid) for pid in workers):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        taken = census.take(workers, folder, timeout=30)
        assert sorted(taken) == sorted(workers)
        assert all(taken[pid]["pid"] == pid for pid in workers)
        assert not list(folder.glob(f"census-{supervisor}-*.json"))
        assert server.process.poll() is None and server.worker_pids() == workers
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
