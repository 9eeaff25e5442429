"""Heap censuses of a running server's workers (``APPWARDEN_HEAP_CENSUS_DIR`` + SIGUSR2)
and what changed between two of them."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any


def listening(pid: int) -> bool:
    """Whether the process has a SIGUSR2 handler (its app has started): a worker still
    starting would die of the signal."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signal.SIGUSR2 - 1) & 1)
    except OSError:
        pass
    return False


def take(pids: list[int], folder: Path, timeout: float = 60.0) -> dict[int, dict[str, Any]]:
    """Ask each process that listens for a census and wait for it; a process that does
    not listen, or writes none within ``timeout``, is left out."""
    pids = [pid for pid in pids if listening(pid)]
    known = {pid: set(folder.glob(f"census-{pid}-*.json")) for pid in pids}
    for pid in pids:
        os.kill(pid, signal.SIGUSR2)
    found: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(pids) and time.monotonic() < deadline:
        for pid in pids:
            new = set(folder.glob(f"census-{pid}-*.json")) - known[pid]
            if pid not in found and new:
                found[pid] = json.loads(max(new, key=lambda p: p.stat().st_mtime).read_text())
        time.sleep(0.2)
    return found


def diff(before: dict[str, Any], after: dict[str, Any], top: int = 15) -> list[dict[str, Any]]:
    """Types whose count changed most between two censuses of one process."""
    old = {t["type"]: t for t in before["types"]}
    new = {t["type"]: t for t in after["types"]}
    rows = []
    for name in old.keys() | new.keys():
        a, b = old.get(name, {"count": 0, "bytes": 0}), new.get(name, {"count": 0, "bytes": 0})
        rows.append(
            {"type": name, "count": b["count"] - a["count"], "bytes": b["bytes"] - a["bytes"]}
        )
    rows.sort(key=lambda r: abs(r["count"]), reverse=True)
    return rows[:top]


def summary(census: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "rss_kib",
        "allocated_blocks",
        "gc_objects",
        "gc_object_bytes",
        "asyncio_tasks",
        "glibc",
        "jemalloc",
    )
    return {k: census.get(k) for k in keys}
