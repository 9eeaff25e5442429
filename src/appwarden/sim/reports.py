"""State reports: the full inventory first, then deltas against the hash the server
acknowledged; events queued until a report carrying them is accepted; and one report id
per report, kept across retries so the server applies it once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from appwarden.sim.inventory import InstalledApp, inventory_hash
from appwarden.sim.packages import Event


def new_report_id() -> str:
    return "r_" + secrets.token_urlsafe(15)


@dataclass
class Report:
    report_id: str
    body: dict[str, Any]
    inventory: tuple[InstalledApp, ...]
    events: tuple[Event, ...]


@dataclass
class ReportBook:
    """What the server has of this device, and what is still to send."""

    acked: tuple[InstalledApp, ...] | None = None  # None: the server has no inventory yet
    acked_hash: str | None = None
    acked_version: int | None = None  # the applied version the server was told last
    queued: list[Event] = field(default_factory=list)
    pending: Report | None = None

    def record(self, events: list[Event]) -> None:
        self.queued.extend(events)

    def forget_inventory(self) -> None:
        """The server does not hold our base (409): the next report sends everything."""
        self.acked, self.acked_hash = None, None
        if self.pending is not None:  # rebuilt with a full inventory and a new id
            self.queued[:0] = list(self.pending.events)
            self.pending = None

    def due(self, inventory: list[InstalledApp], applied_version: int) -> bool:
        """Something the server does not know: a report to retry, events, an inventory
        it lacks or that changed, or a newly applied policy version (even with nothing
        else to say: until then the server counts the device as pending)."""
        return (
            self.pending is not None
            or bool(self.queued)
            or self.acked is None
            or tuple(inventory) != self.acked
            or applied_version != self.acked_version
        )

    def next(self, inventory: list[InstalledApp], applied_version: int) -> Report:
        """The report to send: the pending one again (same id, same body), or a new one."""
        if self.pending is not None:
            return self.pending
        current = tuple(sorted(inventory))
        body_inventory: dict[str, Any] | None
        if self.acked is None:
            body_inventory = {"kind": "full", "apps": [a.document() for a in current]}
        elif current == self.acked:
            body_inventory = None
        else:
            before, after = set(self.acked), set(current)
            gone_ids = {a.app_id for a in before - after} - {a.app_id for a in after}
            body_inventory = {
                "kind": "delta",
                "base": self.acked_hash,
                "added": [a.document() for a in sorted(after - before)],
                "removed": sorted(gone_ids),
            }
        events = tuple(self.queued)
        self.queued = []
        body = {
            "report_id": new_report_id(),
            "applied_version": applied_version,
            "inventory": body_inventory,
            "events": [e.document() for e in events],
        }
        self.pending = Report(str(body["report_id"]), body, current, events)
        return self.pending

    def accepted(self, report: Report) -> None:
        self.acked = report.inventory
        self.acked_hash = inventory_hash(report.inventory)
        self.acked_version = int(report.body["applied_version"])
        if self.pending is report:
            self.pending = None
