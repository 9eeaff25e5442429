"""CPython's cyclic garbage collector in the server processes.

A server holding a fleet's long-polls holds many long-lived objects (each parked request's
scope, task and frames), and a ban makes and drops a few hundred thousand more in seconds.
With CPython's default thresholds (a young collection every 700 net allocations, an older
one every 10 of those) the collector scanned those survivors again and again: in a profile
of a 10,000-device ban it took about a third of the server's CPU time, and a fifth of all
its collections' time went to full (oldest-generation) collections
(docs/benchmarks.md, "The garbage collector's thresholds"). Reference counting frees
almost everything a request makes; the collector only has to find reference cycles, and
finding them after 50,000 allocations rather than 700 costs a few megabytes of cycles
waiting a little longer.

``APPWARDEN_GC_THRESHOLDS`` sets the three thresholds (:func:`gc.set_threshold`) in every
server process; the default is :data:`SERVER_THRESHOLDS`.
"""

from __future__ import annotations

import gc

#: Young generation after 50,000 net allocations; the middle one every 20 young
#: collections; the oldest as CPython decides by default (every 10, and only once the
#: objects waiting for it are a quarter of those it holds).
SERVER_THRESHOLDS = (50_000, 20, 10)


def tune(thresholds: tuple[int, int, int]) -> None:
    """Set this process's collector thresholds (young, middle, oldest generation)."""
    gc.set_threshold(*thresholds)
