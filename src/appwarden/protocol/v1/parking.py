"""Long-polls parked in this process, by device id, and the policy documents they answer
with, cached by content hash.

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
