"""Which memory allocator a server process runs on: jemalloc where it is installed.

A ban wakes every parked long-poll of a server process at once; each device is answered,
reports and parks again within seconds. glibc's allocator keeps most of what such a burst
freed, in pages still partly used, and the trim after the burst cannot return it: over
thirty minutes of bans and rescissions the server grew by 17 % with the objects it holds
flat (docs/reliability.md, run M). jemalloc returns what it no longer uses on its own, a
few seconds after it was freed. It is a separate C library (Debian's ``libjemalloc2``),
loaded before the C library with ``LD_PRELOAD``; that takes effect only when a process
starts, so ``appwarden serve`` starts itself again with it (the same process id, see
:func:`preload_environment`), and its workers inherit it.

Python's own small-object allocator keeps its arenas while any object in them lives, so a
burst's objects, once spread over arenas, hold them; with jemalloc the server also sets
``PYTHONMALLOC=malloc``, so every object comes from jemalloc (unless the operator set
``PYTHONMALLOC`` already).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Literal

Choice = Literal["auto", "jemalloc", "system"]


class AllocatorUnavailable(Exception):
    """jemalloc was asked for by name and cannot be had."""


#: Set in the environment of the process started again, so that it does not start itself
#: a third time if the preload did not take (the dynamic loader only warns).
PRELOADED = "APPWARDEN_ALLOCATOR_PRELOADED"
#: Arena index that means "all arenas" in jemalloc's ``mallctl`` names.
_ALL_ARENAS = 4096


def _mapped_path(fragment: str) -> str | None:
    """The file of a shared library mapped into this process whose path contains
    ``fragment``, or None (also where there is no ``/proc``)."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    for line in maps.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fragment in fields[-1]:
            return fields[-1]
    return None


@cache
def jemalloc() -> ctypes.CDLL | None:
    """jemalloc when this process runs on it (preloaded), else None."""
    path = _mapped_path("libjemalloc")
    if path is None:
        return None
    try:
        return ctypes.CDLL(path)  # already loaded: the same library, not a second copy
    except OSError:  # pragma: no cover - it is mapped, so it loads
        return None


def in_use() -> str:
    """``jemalloc`` or ``system``: the allocator this process runs on."""
    return "jemalloc" if jemalloc() is not None else "system"


def find_jemalloc() -> str | None:
    """The name of an installed jemalloc the dynamic loader can preload, or None."""
    if platform.system() != "Linux":
        return None
    return ctypes.util.find_library("jemalloc")


def preload_environment(
    choice: Choice,
    environ: Mapping[str, str],
    *,
    loaded: bool,
    find: Callable[[], str | None] = find_jemalloc,
) -> dict[str, str] | None:
    """The environment to start this process again with, so that it runs on jemalloc;
    None when it should go on as it is. Refuses (:class:`AllocatorUnavailable`) when
    jemalloc was asked for by name and cannot be had; ``auto`` goes on without it."""
    if choice == "system" or loaded:
        return None
    if PRELOADED in environ:  # started again already, and still not on jemalloc
        if choice == "jemalloc":
            raise AllocatorUnavailable(
                f"jemalloc ({environ[PRELOADED]}) could not be preloaded; "
                "set APPWARDEN_ALLOCATOR=system to run without it",
            )
        return None
    library = find()
    if library is None:
        if choice == "jemalloc":
            raise AllocatorUnavailable(
                "jemalloc is not installed (Debian: apt-get install libjemalloc2); "
                "set APPWARDEN_ALLOCATOR=system or auto to run without it",
            )
        return None
    env = dict(environ)
    preload = environ.get("LD_PRELOAD", "").strip()
    env["LD_PRELOAD"] = f"{library} {preload}" if preload else library
    env.setdefault("PYTHONMALLOC", "malloc")
    env[PRELOADED] = library
    return env


def ensure(choice: Choice) -> None:
    """Go on running on the allocator ``choice`` names: start this process again on
    jemalloc when it is chosen and not yet in use; refuse (:class:`AllocatorUnavailable`)
    when it was asked for by name and cannot be had."""
    env = preload_environment(choice, os.environ, loaded=jemalloc() is not None)
    if env is not None:
        restart_with(env)


def restart_with(env: dict[str, str]) -> None:  # pragma: no cover - replaces the process
    """Replace this process by itself, started again with ``env`` (same id, same
    arguments, same interpreter)."""
    import sys

    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)  # noqa: S606


def stats() -> dict[str, int] | None:
    """jemalloc's own figures (bytes), None when not on jemalloc: what the program holds
    (``allocated``), the pages that holds (``active``), what is resident (``resident``),
    what it has mapped (``mapped``), and what it keeps mapped but returned to the system
    (``retained``)."""
    lib = jemalloc()
    if lib is None:
        return None
    mallctl = lib.mallctl
    mallctl.restype = ctypes.c_int
    epoch = ctypes.c_uint64(1)
    size = ctypes.c_size_t(ctypes.sizeof(epoch))
    # The statistics are a snapshot, taken anew when the epoch is written.
    mallctl(b"epoch", None, None, ctypes.byref(epoch), size)
    figures: dict[str, int] = {}
    for name in ("allocated", "active", "resident", "mapped", "retained"):
        value = ctypes.c_size_t(0)
        size = ctypes.c_size_t(ctypes.sizeof(value))
        if mallctl(f"stats.{name}".encode(), ctypes.byref(value), ctypes.byref(size), None, 0):
            continue  # not in this build (statistics off)
        figures[name] = value.value
    return figures


def purge() -> bool:
    """Have jemalloc return every free page of every arena now, rather than over the
    next seconds; False when not on jemalloc."""
    lib = jemalloc()
    if lib is None:
        return False
    lib.mallctl.restype = ctypes.c_int
    failed: int = lib.mallctl(f"arena.{_ALL_ARENAS}.purge".encode(), None, None, None, 0)
    return failed == 0
