"""Refused attempts in the audit chain: failed sign-ins, bad or missing API tokens, refused
permissions, refused device signatures and enrollments, CSRF refusals, rate-limit hits,
MDM webhook events without the source's secret.

Anyone on the network can cause a refusal, so auditing each one would let them flood the
chain (one locked append per bad request). Refusals are aggregated instead: per kind of
refusal (``action``) and subject (the user name tried, the token's user, the device id
claimed, the client address), the first refusal in each window (one minute by the
server's clock) is appended at once; later ones in that window are counted, and the next
event for that subject carries the count (``after.repeats``). Each kind also has a ceiling
of :data:`PER_WINDOW` events per window, whatever the subjects (a spray of made-up user
names or device ids): past it refusals are counted under the next event of that kind
(``after.others``). Counts live in the server process, so a restart loses the counts not
yet written (never a written event), and each process of a scaled-out server aggregates
on its own.

Each event is appended in a transaction of its own, as the refused request changes
nothing else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from appwarden.audit.service import append
from appwarden.clock import Clock

WINDOW = timedelta(minutes=1)
#: Most events of one kind in one window, over all subjects.
PER_WINDOW = 60
#: Subjects remembered at most; older ones are forgotten first (their counts are lost).
MAX_SUBJECTS = 10_000

SIGN_IN_REFUSED = "auth.sign_in.refused"
TOKEN_REFUSED = "auth.token.refused"  # noqa: S105 (an action name)
PERMISSION_REFUSED = "auth.permission.refused"
DEVICE_SIGNATURE_REFUSED = "device.signature.refused"
ENROLLMENT_REFUSED = "device.enroll.refused"
CSRF_REFUSED = "console.csrf.refused"
WEBHOOK_REFUSED = "inventory.webhook.refused"


@dataclass
class _Subject:
    last_written: datetime
    repeats: int = 0


@dataclass
class _Kind:
    window_start: datetime
    written: int = 0
    others: int = 0


@dataclass
class Refusal:
    """One refused attempt: who tried (``actor``), what (``action``), on what object, why."""

    actor: str
    action: str
    object_type: str
    object_id: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


class Refusals:
    """Aggregates and appends refusals for one server process (see the module)."""

    def __init__(
        self,
        *,
        sessions: Callable[[], Session],
        key: bytes,
        clock: Clock,
        window: timedelta = WINDOW,
        per_window: int = PER_WINDOW,
    ) -> None:
        self._sessions = sessions
        self._key = key
        self._clock = clock
        self._window = window
        self._per_window = per_window
        self._lock = threading.Lock()
        self._subjects: dict[tuple[str, str], _Subject] = {}
        self._kinds: dict[str, _Kind] = {}
        self.suppressed = 0  # refusals counted but not (yet) written, since the start

    def _admit(self, action: str, subject: str, now: datetime) -> dict[str, int] | None:
        """The counts to write with this refusal, or None if it is only counted."""
        with self._lock:
            kind = self._kinds.get(action)
            if kind is None or now - kind.window_start >= self._window:
                kind = self._kinds[action] = _Kind(
                    window_start=now, others=kind.others if kind else 0
                )
            known = self._subjects.get((action, subject))
            if known is not None and now - known.last_written < self._window:
                known.repeats += 1
                self.suppressed += 1
                return None
            if kind.written >= self._per_window:
                kind.others += 1
                self.suppressed += 1
                return None
            kind.written += 1
            counts = {"repeats": known.repeats if known else 0, "others": kind.others}
            kind.others = 0
            self._subjects.pop((action, subject), None)
            self._subjects[(action, subject)] = _Subject(last_written=now)
            if len(self._subjects) > MAX_SUBJECTS:
                del self._subjects[next(iter(self._subjects))]
            return counts

    def record(self, refusal: Refusal, *, subject: str | None = None) -> bool:
        """Count ``refusal``; append it to the chain unless aggregated. ``subject`` is
        what it is aggregated by (default: the actor). Returns whether it was appended."""
        now = self._clock.now()
        counts = self._admit(refusal.action, subject or refusal.actor, now)
        if counts is None:
            return False
        after = {"reason": refusal.reason, **refusal.details, **counts}
        with self._sessions() as session, session.begin():
            append(
                session,
                key=self._key,
                clock=self._clock,
                actor=refusal.actor[:64],
                action=refusal.action,
                object_type=refusal.object_type,
                object_id=refusal.object_id[:64],
                after=after,
            )
        return True
