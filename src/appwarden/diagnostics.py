"""A heap census on demand: what a running server process holds, by type.

Memory that stays after a burst is either live (some structure keeps objects) or free
memory the allocators cannot hand back (fragmentation). Counting the live objects by type
before and after tells the two apart, without a debugger attached to a process that is
serving a fleet. With ``APPWARDEN_HEAP_CENSUS_DIR`` set, each server process writes one
JSON census there each time it receives ``SIGUSR2`` (see docs/operations.md).

A census walks every object the garbage collector tracks (containers, functions,
coroutines, instances: not strings or numbers held inside them), so it stops the process's
event loop for about a second per million objects. It is a diagnostic, off by default.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import json
import logging
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from appwarden import allocator, memory

log = logging.getLogger(__name__)
#: Types listed by count in a census; the rest are summed into ``other``.
TOP = 60


def _rss_kib() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd",
            "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _glibc() -> dict[str, int] | None:
    """glibc's heap, all its arenas summed (``mallinfo2``, glibc 2.33 and later): what it
    took from the system and what of that is in use. Objects larger than 512 bytes and C
    libraries' memory live here; Python's small objects live in its own arenas."""
    libc = memory.glibc()
    if libc is None:
        return None
    try:
        mallinfo2 = libc.mallinfo2
    except AttributeError:  # glibc before 2.33
        return None
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return {
        "heap_bytes": info.arena,  # taken with brk/mmap for the arenas
        "mmapped_bytes": info.hblkhd,  # large blocks mapped one by one
        "in_use_bytes": info.uordblks,
        "free_bytes": info.fordblks,  # kept by glibc, free
    }


def _sqlite_bytes() -> int | None:
    """Memory SQLite holds in this process (page caches, statements), when the sqlite3
    module uses a shared libsqlite3 (then the one mapped here is the one it uses)."""
    if "_sqlite3" not in sys.modules:
        return None
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    paths = {line.split()[-1] for line in maps.splitlines() if "libsqlite3" in line}
    if len(paths) != 1:
        return None
    try:
        used = ctypes.CDLL(paths.pop()).sqlite3_memory_used
    except (OSError, AttributeError):
        return None
    used.restype = ctypes.c_int64
    return int(used())


def census(top: int = TOP) -> dict[str, Any]:
    """Live objects of this process by type (``module.qualname``): count and the sum of
    their own sizes (``sys.getsizeof``, not what they refer to), most numerous first."""
    unreachable = gc.collect()  # cycles awaiting collection are not what stays
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for obj in gc.get_objects():
        kind = type(obj)
        name = f"{kind.__module__}.{kind.__qualname__}"
        counts[name] += 1
        sizes[name] += sys.getsizeof(obj)
    listed = counts.most_common(top)
    rest = set(counts) - {name for name, _ in listed}
    try:
        tasks: int | None = len(asyncio.all_tasks())
    except RuntimeError:  # no running loop
        tasks = None
    return {
        "pid": os.getpid(),
        "time": time.time(),
        "rss_kib": _rss_kib(),
        "allocated_blocks": sys.getallocatedblocks(),
        "gc_objects": sum(counts.values()),
        "gc_object_bytes": sum(sizes.values()),
        "collected_before": unreachable,
        "asyncio_tasks": tasks,
        "glibc": _glibc(),
        "jemalloc": allocator.stats(),
        "sqlite_bytes": _sqlite_bytes(),
        "types": [{"type": n, "count": c, "bytes": sizes[n]} for n, c in listed],
        "other": {"types": len(rest), "count": sum(counts[n] for n in rest)},
    }


def write_census(folder: Path) -> Path:
    """Write a census to ``folder/census-<pid>-<n>.json`` (n counts up per process)."""
    folder.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    number = len(list(folder.glob(f"census-{pid}-*.json"))) + 1
    target = folder / f"census-{pid}-{number}.json"
    partial = target.with_suffix(".part")
    partial.write_text(json.dumps(census(), indent=1))
    partial.replace(target)  # a reader never sees half a census
    return target


def install(folder: Path | None) -> bool:
    """On ``SIGUSR2``, write a census to ``folder`` (nothing when it is None). Only the
    main thread's event loop can take signals; elsewhere (an app under a test client) this
    logs why and returns False."""
    if folder is None or not hasattr(signal, "SIGUSR2"):
        return False

    def on_signal() -> None:
        try:
            log.warning("heap census written to %s", write_census(folder))
        except OSError:
            log.exception("the heap census could not be written")

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, on_signal)
    except (RuntimeError, ValueError):  # not the main thread
        log.warning("heap census: SIGUSR2 is only taken in the main thread; not installed")
        return False
    return True


def uninstall() -> None:
    if hasattr(signal, "SIGUSR2"):
        try:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR2)
        except (RuntimeError, ValueError):
            pass
