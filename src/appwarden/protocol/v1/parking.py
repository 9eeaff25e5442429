"""Long-polls parked in this process, by device id; the policy documents they answer
with, cached by content hash; and the newest version this process has distributed to each
device, so that a long-poll re-parking after a wake-up need not read the database.

A parked request holds one small :class:`Waiter` and no thread or database connection.
A wake-up carries the device's new version and ETag, so with the document cached here the
woken request answers without touching the database. Everything here runs on the event
loop, but the cache, which request threads fill.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from appwarden.enforcement.service import Current


class Waiter:
    """One parked long-poll: set when its device's policy changed (``current`` then holds
    the new version, if the waker knew it) or the server stops."""

    __slots__ = ("current", "event")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.current: Current | None = None


class Parked:
    """Waiting long-polls, woken when their device's policy may have changed."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[Waiter]] = {}
        self._count = 0  # read from other threads: an int, not the dict
        self.closing = False

    @contextmanager
    def park(self, device_id: str) -> Iterator[Waiter]:
        """A waiter set when ``device_id`` may have a new policy (or the server stops)."""
        waiter = Waiter()
        if self.closing:
            waiter.event.set()
        self._waiting.setdefault(device_id, set()).add(waiter)
        self._count += 1
        try:
            yield waiter
        finally:
            self._count -= 1
            waiters = self._waiting.get(device_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiting[device_id]

    def wake(self, changed: Iterable[tuple[str, Current | None]]) -> int:
        """Wake the long-polls of these devices, with their new version if known; returns
        how many were parked."""
        woken = 0
        for device_id, current in changed:
            for waiter in self._waiting.get(device_id, ()):
                waiter.current = current
                waiter.event.set()
                woken += 1
        return woken

    def release_all(self) -> None:
        """The server is stopping: every parked long-poll answers now, and new ones do not
        wait."""
        self.closing = True
        for waiters in self._waiting.values():
            for waiter in waiters:
                waiter.event.set()

    def __len__(self) -> int:
        return self._count


def document_json(document: dict[str, Any]) -> bytes:
    """A document as the response carries it (compact, as Starlette's JSON responses)."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class Documents:
    """Serialised policy documents by content hash: an ETag names one content forever, so
    entries never go stale; the least recently used go when the cache is full."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            found = self._items.get(etag)
            if found is not None:
                self._items.move_to_end(etag)
            return found

    def put(self, etag: str, document: dict[str, Any]) -> bytes:
        body = document_json(document)
        with self._lock:
            self._items[etag] = body
            self._items.move_to_end(etag)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return body


class Known:
    """The newest version each device was told of by this process's distributor, and when
    the clock changes it (``next_change_at``).

    A long-poll must not miss a change made between reading the device's version and
    parking. The version read with the request's signature check comes before parking; a
    change distributed here since then is in this map, with a greater version. So after
    parking, the newer of the two is current (see ``views.policy``), with no database
    read. A change committed but not yet distributed here makes both stale for a moment;
    the wake-up that follows reaches the parked request. An entry whose
    ``next_change_at`` has passed counts for nothing.

    Touched only on the event loop (by :meth:`Distributor._wake_changed
    <appwarden.protocol.v1.wakeups.Distributor._wake_changed>` and the policy route).
    """

    def __init__(self) -> None:
        self._items: dict[str, tuple[int, str, datetime | None]] = {}
        self._etags: dict[str, str] = {}  # one string per distinct ETag, not one per device

    def update(self, rows: Iterable[tuple[str, Current, datetime | None]]) -> None:
        """Record distributed versions; an older version never replaces a newer one."""
        items, etags = self._items, self._etags
        for device_id, current, until in rows:
            held = items.get(device_id)
            if held is None or held[0] <= current.version:
                etag = etags.setdefault(current.etag, current.etag)
                items[device_id] = (current.version, etag, until)

    def newest(self, device_id: str, now: datetime) -> Current | None:
        """The newest version this process told the device of, unless the clock has
        changed it since; None if it told it none (ask the database)."""
        held = self._items.get(device_id)
        if held is None:
            return None
        version, etag, until = held
        if until is not None and until <= now:
            return None
        return Current(version, etag)

    def __len__(self) -> int:
        return len(self._items)
