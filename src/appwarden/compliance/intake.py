"""A device's state report, recorded once: its inventory (full or delta), its events, its
applied policy version; then its compliance is judged again.

Reports are recorded in batches (:func:`accept_many`, a fixed number of statements per
batch); one report alone is a batch of one (:func:`accept`). A refused report (a version
never issued, a delta on the wrong base, a report id reused for another body) writes
nothing, whatever the others in its batch do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from appwarden.compliance.judging import installed, issued, judge_many
from appwarden.compliance.models import DeviceEvent, DeviceReport, DeviceState, InstalledApp
from appwarden.compliance.status import Apps, install_decision, inventory_hash
from appwarden.compliance.wire import (
    DeltaInventory,
    FullInventory,
    InstallCheck,
    InstallDecision,
    StateAccepted,
    StateReport,
)
from appwarden.config import Settings
from appwarden.db import chunked, insert_rows, one_of, pairs_exactly, pairs_narrowed, update_rows
from appwarden.enforcement.models import DevicePolicyIssue
from appwarden.enforcement.service import current_policy
from appwarden.errors import Conflict, DomainError
from appwarden.fleet.models import Device


class InventoryMismatch(Conflict):
    kind, title = "inventory_mismatch", "Inventory mismatch"


class VersionNotIssued(Conflict):
    kind, title = "version-not-issued", "Policy version never issued"


class ReportIdReused(Conflict):
    kind, title = "report-id-reused", "Report id reused"


def _new_inventory(
    held: dict[str, str | None] | None,
    stored_hash: str | None,
    inventory: FullInventory | DeltaInventory,
) -> dict[str, str | None]:
    if isinstance(inventory, FullInventory):
        return {a.app_id: a.signer.lower() if a.signer else None for a in inventory.apps}
    if held is None or stored_hash is None or inventory.base != stored_hash:
        raise InventoryMismatch(
            "the delta's base is not the inventory the server holds; send a full inventory",
            expected=stored_hash,
        )
    missing = sorted(set(inventory.removed) - set(held))
    if missing:
        raise InventoryMismatch(
            f"removed apps the server does not hold ({', '.join(missing[:5])}); "
            "send a full inventory",
            expected=stored_hash,
        )
    apps = {k: v for k, v in held.items() if k not in set(inventory.removed)}
    apps.update({a.app_id: a.signer.lower() if a.signer else None for a in inventory.added})
    return apps


@dataclass(frozen=True)
class Incoming:
    """One state report, signed by ``device``; ``body_sha256`` identifies its bytes.

    ``observed_at`` is when the state was observed, if not on receipt: an inventory an
    MDM took earlier (:mod:`appwarden.inventories`). It is the report's time for judging,
    and rules new to the device count from it."""

    device: Device
    report: StateReport
    body_sha256: str
    observed_at: datetime | None = None


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def accept_many(
    session: Session,
    items: Sequence[Incoming],
    *,
    now: datetime,
    settings: Settings,
    locked: bool = False,
) -> list[StateAccepted | DomainError]:
    """Record every report (once per report id), judge the devices again, and return, in
    order, each report's answer or the reason it was refused. A refused report writes
    nothing; the others are recorded all the same. Reports of one device are recorded in
    the order given, one round each. ``locked``: the caller has already taken the
    reporting devices' locks (:func:`lock`) in this transaction."""
    outcomes: list[StateAccepted | DomainError | None] = [None] * len(items)
    waiting = list(range(len(items)))
    while waiting:
        this_round: list[int] = []
        later: list[int] = []
        devices: set[str] = set()
        for index in waiting:
            device_id = items[index].device.id
            (later if device_id in devices else this_round).append(index)
            devices.add(device_id)
        answers = _round(
            session, [items[i] for i in this_round], now=now, settings=settings, locked=locked
        )
        for index, answer in zip(this_round, answers, strict=True):
            outcomes[index] = answer
        waiting = later
    return [outcome for outcome in outcomes if outcome is not None]


def lock(session: Session, device_ids: Sequence[str]) -> None:
    """One device's reports are recorded one at a time (a row lock on PostgreSQL, taken
    in id order so two batches never wait for each other; SQLite has one writer).

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: rows that refer to the device (a policy
    version the recompiler issues, under its own lock) check the reference with ``FOR KEY
    SHARE``, which only ``FOR UPDATE`` blocks. With it, a batch holding the devices and
    waiting for the policy lock, and the recompiler holding that lock and waiting to refer
    to one of them, deadlocked: 219 times in 4.5 minutes of a 100,000-device start."""
    if session.get_bind().dialect.name == "sqlite":
        return
    for part in chunked(sorted(device_ids)):
        query = select(Device.id).where(one_of(session, Device.id, part)).order_by(Device.id)
        session.execute(query.with_for_update(key_share=True))


def _earlier(session: Session, items: Sequence[Incoming]) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    pairs = [(i.device.id, i.report.report_id) for i in items]
    wanted = set(pairs)
    table = DeviceReport
    for narrowed in pairs_narrowed(session, table.device_id, table.report_id, pairs):
        query = select(table.device_id, table.report_id, table.body_sha256, table.response)
        for row in session.execute(query.where(narrowed)):
            if (row.device_id, row.report_id) in wanted:
                found[row.device_id, row.report_id] = row
    return found


def _issued(session: Session, items: Sequence[Incoming]) -> set[tuple[str, int]]:
    """Of each report's applied version, those that were issued to its device."""
    pairs = [(i.device.id, i.report.applied_version) for i in items]
    table = DevicePolicyIssue
    found: set[tuple[str, int]] = set()
    for narrowed in pairs_narrowed(session, table.device_id, table.version, pairs):
        query = select(table.device_id, table.version).where(narrowed)
        found.update((device_id, version) for device_id, version in session.execute(query))
    return found & set(pairs)


def _states(session: Session, device_ids: Sequence[str]) -> dict[str, str | None]:
    """Which devices reported before, with the inventory hash the server holds."""
    found: dict[str, str | None] = {}
    for part in chunked(device_ids):
        query = select(DeviceState.device_id, DeviceState.inventory_hash)
        query = query.where(one_of(session, DeviceState.device_id, part))
        found.update((d, h) for d, h in session.execute(query))
    return found


@dataclass
class _Writes:
    gone_apps: list[tuple[str, str]] = field(default_factory=list)
    new_apps: list[dict[str, Any]] = field(default_factory=list)
    new_states: list[dict[str, Any]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def inventory(self, device_id: str, old: Apps, new: Apps) -> None:
        """Write only the difference: most reports change a few apps, or none."""
        self.gone_apps += [(device_id, a) for a in old if a not in new or old[a] != new[a]]
        self.new_apps += [
            {"device_id": device_id, "app_id": app_id, "signer": signer}
            for app_id, signer in new.items()
            if app_id not in old or old[app_id] != signer
        ]

    def send(self, session: Session, device_ids: Sequence[str], now: datetime) -> None:
        apps = InstalledApp
        for exactly in pairs_exactly(session, apps.device_id, apps.app_id, self.gone_apps):
            session.execute(delete(apps).where(exactly))
        if self.new_apps:
            insert_rows(session, InstalledApp, self.new_apps)
        if self.new_states:
            insert_rows(session, DeviceState, self.new_states)
        if self.states:
            update_rows(session, DeviceState, self.states)
        if self.events:
            insert_rows(session, DeviceEvent, self.events)
        for ids in chunked(device_ids):
            session.execute(
                update(Device)
                .where(one_of(session, Device.id, ids))
                .values(last_seen_at=now)
                .execution_options(synchronize_session=False)
            )


def _fresh(
    session: Session, items: Sequence[Incoming], outcomes: list[StateAccepted | DomainError | None]
) -> list[int]:
    """Reports not seen before and on an issued version; retries get the first answer."""
    earlier = _earlier(session, items)
    fresh: list[int] = []
    for index, item in enumerate(items):
        record = earlier.get((item.device.id, item.report.report_id))
        if record is None:
            fresh.append(index)
        elif record.body_sha256 != item.body_sha256:
            outcomes[index] = ReportIdReused(
                f"report id {item.report.report_id} was already used for another report"
            )
        else:
            outcomes[index] = StateAccepted.model_validate(record.response)
    issued_versions = _issued(session, [items[i] for i in fresh])
    for index in fresh:
        item = items[index]
        if (item.device.id, item.report.applied_version) not in issued_versions:
            outcomes[index] = VersionNotIssued(
                f"policy version {item.report.applied_version} was never issued to this device"
            )
    return [i for i in fresh if outcomes[i] is None]


def _round(
    session: Session,
    items: Sequence[Incoming],
    *,
    now: datetime,
    settings: Settings,
    locked: bool,
) -> list[StateAccepted | DomainError]:
    """Record reports of distinct devices."""
    if not locked:
        lock(session, [i.device.id for i in items])
    outcomes: list[StateAccepted | DomainError | None] = [None] * len(items)
    fresh = _fresh(session, items, outcomes)
    states = _states(session, [items[i].device.id for i in fresh])
    with_inventory = [items[i].device.id for i in fresh if items[i].report.inventory is not None]
    held = installed(session, [d for d in with_inventory if states.get(d) is not None])
    writes = _Writes()
    hashes: dict[str, str | None] = {}
    inventories: dict[str, Apps] = {}  # as stored by this round, for judging
    for index in fresh:
        item = items[index]
        device_id, report = item.device.id, item.report
        stored_hash = states.get(device_id)
        if report.inventory is not None:
            old = held.get(device_id, {}) if stored_hash is not None else None
            try:
                apps = _new_inventory(old, stored_hash, report.inventory)
            except InventoryMismatch as refused:
                outcomes[index] = refused
                continue
            writes.inventory(device_id, old or {}, apps)
            stored_hash = inventory_hash(apps)
            inventories[device_id] = apps
        hashes[device_id] = stored_hash
        state = {
            "device_id": device_id,
            "applied_version": report.applied_version,
            "inventory_hash": stored_hash,
            "report_id": report.report_id,
            "reported_at": item.observed_at or now,
        }
        (writes.states if device_id in states else writes.new_states).append(state)
        writes.events += [
            {
                "device_id": device_id,
                "report_id": report.report_id,
                "kind": e.kind,
                "app_id": e.app_id,
                "rule": e.rule,
                "at": e.at,
                "received_at": now,
            }
            for e in report.events
        ]
    accepted = [i for i in fresh if outcomes[i] is None]
    writes.send(session, [items[i].device.id for i in accepted], now)
    observed = {items[i].device.id: items[i].observed_at for i in accepted}
    judged = judge_many(
        session,
        [items[i].device for i in accepted],
        now=now,
        settings=settings,
        applies_from={d: t for d, t in observed.items() if t is not None},
        known_apps={d: apps for d, apps in inventories.items() if d in observed},
    )
    records = []
    for index in accepted:
        item = items[index]
        answer = StateAccepted(
            report_id=item.report.report_id,
            inventory_hash=hashes[item.device.id],
            policy_version=judged.versions[item.device.id],
        )
        outcomes[index] = answer
        records.append(
            {
                "device_id": item.device.id,
                "report_id": item.report.report_id,
                "body_sha256": item.body_sha256,
                "response": answer.model_dump(mode="json"),
                "received_at": now,
            }
        )
    if records:
        insert_rows(session, DeviceReport, records)
    return [outcome for outcome in outcomes if outcome is not None]


def check_install(
    session: Session, device: Device, check: InstallCheck, *, now: datetime
) -> InstallDecision:
    """May ``device`` install this app now, by its current policy?"""
    # Compiled now, not read from the last issued document: an install is rare, and its
    # answer must hold even if distribution has not yet issued the newest version.
    compiled, version = current_policy(session, device, now=now)
    policy = issued(compiled.document(), compiled.etag)
    signer = check.signer.lower() if check.signer else None
    allowed, rule, action = install_decision(
        policy.entries, policy.allow_list, check.app_id, signer, now
    )
    message = None
    if not allowed:
        message = policy.messages.get(rule) if rule is not None else None
        message = message or "This app may not be installed on this device."
    return InstallDecision(
        allowed=allowed,
        rule=rule,
        action=action,  # type: ignore[arg-type]
        message=message,
    )
