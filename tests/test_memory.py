"""Memory handed back after a burst: the trimmer's timing, its place in the server's
lifespan, and glibc's ``malloc_trim`` releasing freed pages for real."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from appwarden import diagnostics, memory
from appwarden.app import create_app
from appwarden.config import Settings
from appwarden.memory import Trimmer, release_free_memory
from tests.server import START, FixedClock

GLIBC = sys.platform == "linux" and memory._malloc_trim() is not None


class Writers:
    """What the trimmer watches: a batch count and whether reports are being recorded."""

    def __init__(self) -> None:
        self.batches = 0
        self.recording = False
        self.trimmed = 0

    def trimmer(self) -> Trimmer:
        return Trimmer(lambda: self.batches, lambda: self.recording, self.trim, interval_s=1)

    def trim(self) -> bool:
        self.trimmed += 1
        return True


def test_a_burst_is_trimmed_once_after_a_quiet_interval() -> None:
    writers = Writers()
    trimmer = writers.trimmer()
    assert [trimmer.due() for _ in range(3)] == [False, False, False]  # no activity yet
    writers.batches += 40
    assert trimmer.due() is False  # the burst is on
    writers.batches += 3
    assert trimmer.due() is False  # still on: a look that sees new batches waits
    assert trimmer.due() is True  # one quiet interval after the last batch
    assert [trimmer.due() for _ in range(3)] == [False, False, False]  # once per burst
    writers.batches += 1
    assert (trimmer.due(), trimmer.due()) == (False, True)  # the next burst, its own trim


def test_no_trim_while_reports_are_still_being_recorded() -> None:
    writers = Writers()
    trimmer = writers.trimmer()
    writers.batches, writers.recording = 7, True
    assert [trimmer.due() for _ in range(4)] == [False, False, False, False]
    writers.recording = False
    assert trimmer.due() is True


def test_without_glibc_there_is_nothing_to_release(monkeypatch: pytest.MonkeyPatch) -> None:
    memory._malloc_trim.cache_clear()
    memory.glibc.cache_clear()
    monkeypatch.setattr(memory.platform, "libc_ver", lambda: ("musl", "1.2"))
    try:
        assert memory._malloc_trim() is None
        assert release_free_memory() is False
        assert diagnostics.census()["glibc"] is None  # no mallinfo2 to read either
    finally:
        memory._malloc_trim.cache_clear()
        memory.glibc.cache_clear()


def test_the_server_trims_after_device_requests(database_url: str, tmp_path: Path) -> None:
    """The lifespan runs the trimmer, and enrollments count as activity: one refused
    enrollment (a token never issued, 401) and, a quiet interval later, one trim."""
    from fastapi.testclient import TestClient

    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, audit_key="k")
    app = create_app(settings, clock=FixedClock(START))
    writers = Writers()
    app.state.trimmer.trim, app.state.trimmer.interval_s = writers.trim, 0.05
    try:
        with TestClient(app) as client:
            time.sleep(0.3)
            assert writers.trimmed == 0  # nothing happened, nothing to give back
            body = {"token": "never-issued", "platform": "android", "ownership": "corporate"}
            body["public_key"] = "A" * 43 + "="
            assert client.post("/v1/enroll", json=body).status_code == 401
            for _ in range(200):
                if writers.trimmed:
                    break
                time.sleep(0.05)
            assert writers.trimmed == 1 and app.state.trimmer.trims == 1
    finally:
        app.state.context.engine.dispose()


PROGRAM = textwrap.dedent(
    """
    from appwarden.memory import release_free_memory

    def rss_kib():
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith("VmRSS"))

    # 200,000 blocks of 1,000 bytes: bytes objects this size come from malloc, not
    # Python's small-object pools. Keep one in 64, so the freed memory lies between
    # live blocks, where glibc does not give it back by itself.
    blocks = [bytes(1000) + b"%d" % n for n in range(200_000)]
    kept = blocks[::64]
    del blocks
    before = rss_kib()
    released = release_free_memory()
    print(before, rss_kib(), released, len(kept))
    """
)


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_release_free_memory_returns_freed_pages_to_the_system() -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True, timeout=60
    )
    before, after, released, kept = run.stdout.split()
    assert released == "True" and kept == "3125"
    assert int(before) - int(after) > 100 * 1024, run.stdout  # > 100 MiB of ~190 freed
