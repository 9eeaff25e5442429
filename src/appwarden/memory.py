"""Giving memory back to the system after a burst of device requests.

When a ban takes force, every device of the fleet checks in and reports within seconds,
and a server process holds thousands of requests at once. Once they are answered, Python
frees their objects, but glibc's allocator keeps the freed pages for later: the process's
resident memory stays at the burst's high-water mark. ``malloc_trim(0)`` hands back the
pages that are wholly free (after an enrollment burst, most of them; after a ban, little:
see docs/reliability.md). It is called
from a thread (``ctypes`` releases the GIL during the call) once no state report or
enrollment has been written for a whole interval, so never during a burst.

On a server running on jemalloc (``APPWARDEN_ALLOCATOR``, see :mod:`appwarden.allocator`)
the same moment has jemalloc purge its free pages instead. On a system whose C library is
not glibc (musl, macOS) and without jemalloc there is nothing to call, and
:func:`release_free_memory` does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import platform
from collections.abc import Callable
from functools import cache

from anyio import to_thread

from appwarden import allocator

log = logging.getLogger(__name__)
#: Seconds between looks at the device writers' activity.
INTERVAL_S = 5.0


@cache
def glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (Linux's usual one), else None (musl, macOS)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:  # pragma: no cover - a glibc system has it
        return None


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    libc = glibc()
    if libc is None:
        return None
    try:
        trim = libc.malloc_trim
    except AttributeError:  # pragma: no cover - glibc always has it
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the allocator's free pages to the system; whether any were returned (False
    where the C library is not glibc and jemalloc is not in use). jemalloc returns them on
    its own within seconds; this only does it at once."""
    if allocator.jemalloc() is not None:  # glibc's heap is then all but empty
        return allocator.purge()
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


class Trimmer:
    """Calls ``trim`` once after each burst: when ``activity()`` (a count that grows with
    every batch of state reports or enrollments; not of check-ins, which a parked fleet
    sends all the time) has not changed for a whole interval and ``busy()`` is false. No
    activity, no call."""

    def __init__(
        self,
        activity: Callable[[], int],
        busy: Callable[[], bool],
        trim: Callable[[], bool] = release_free_memory,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self.activity, self.busy, self.trim = activity, busy, trim
        self.interval_s = interval_s
        self._seen = activity()
        self._pending = False
        self.trims = 0  # how many times ``trim`` was called (tests and logs)

    def due(self) -> bool:
        """One look: whether to trim now. Activity since the last look postpones it."""
        seen = self.activity()
        if seen != self._seen:
            self._seen, self._pending = seen, True
            return False
        if self._pending and not self.busy():
            self._pending = False
            return True
        return False

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            if self.due():
                self.trims += 1
                try:
                    released = await to_thread.run_sync(self.trim)
                except Exception:  # noqa: BLE001 - a failed trim costs memory, not service
                    log.exception("returning free memory failed")
                else:
                    log.debug("free memory returned after a burst: %s", released)
