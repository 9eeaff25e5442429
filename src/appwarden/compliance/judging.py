"""Judge many devices at once: a fixed number of statements per batch, not per device.

A ban reaches thousands of devices within seconds and each of them reports back; judging
them one at a time costs about a dozen ORM round trips per device. Here every input is
read with one ``IN`` query per table for the whole batch, every judgement is the pure
:func:`~appwarden.compliance.status.judge`, and only what changed is written, with one
executemany per kind of write. :func:`judge_many` is the only judging code: one device is
a batch of one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from threading import Lock
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from appwarden.compliance.models import (
    NOT_APPLICABLE,
    ComplianceHistory,
    ComplianceStatus,
    ComplianceWebhook,
    DeviceCompliance,
    DeviceState,
    InstalledApp,
)
from appwarden.compliance.status import Apps, Judgement, Observed, entries_of, judge, overall
from appwarden.config import Settings
from appwarden.db import chunked, insert_rows, one_of, pairs_exactly, pairs_narrowed, update_rows
from appwarden.enforcement.models import DevicePolicyIssue, DevicePolicyVersion, PolicyDocument
from appwarden.enforcement.service import current_policy
from appwarden.fleet.models import Device
from appwarden.policy.matcher import in_effect
from appwarden.policy.model import RuleEntry, iso


@dataclass(frozen=True)
class IssuedPolicy:
    """A policy document as compliance reads it."""

    etag: str
    entries: list[RuleEntry]
    allow_list: bool
    messages: dict[int, str]


def issued(document: dict[str, Any], etag: str) -> IssuedPolicy:
    return IssuedPolicy(
        etag=etag,
        entries=entries_of(document),
        allow_list=bool(document.get("allow_list")),
        messages={int(m["rule"]): str(m["text"]) for m in document.get("messages", [])},
    )


class _Parsed:
    """Parsed documents by ETag, shared by every session of the process: an ETag is the
    hash of the document's content, so what it names never changes."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.lock = Lock()
        self.items: dict[str, IssuedPolicy] = {}

    def get(self, etag: str) -> IssuedPolicy | None:
        return self.items.get(etag)

    def put(self, policy: IssuedPolicy) -> None:
        with self.lock:
            if len(self.items) >= self.size:
                self.items.clear()  # rare: documents are shared by many devices
            self.items[policy.etag] = policy


PARSED = _Parsed()


def documents(session: Session, etags: Iterable[str]) -> dict[str, IssuedPolicy]:
    """The issued documents named, parsed (from the process cache when it has them)."""
    found: dict[str, IssuedPolicy] = {}
    missing = []
    for etag in set(etags):
        cached = PARSED.get(etag)
        if cached is None:
            missing.append(etag)
        else:
            found[etag] = cached
    for part in chunked(missing):
        query = select(PolicyDocument.etag, PolicyDocument.document)
        query = query.where(one_of(session, PolicyDocument.etag, part))
        for etag, document in session.execute(query):
            policy = found[etag] = issued(document, etag)
            PARSED.put(policy)
    return found


def current(
    session: Session, devices: Sequence[Device], *, now: datetime
) -> dict[str, tuple[IssuedPolicy, int]]:
    """Each device's policy as last issued, and its version (what distribution keeps
    current); compiled now only for a device that was never issued one. Rules and waivers
    that lapse by the clock are applied when judging (``in_effect`` at ``now``)."""
    stored: dict[str, tuple[str, int]] = {}
    table = DevicePolicyVersion
    for part in chunked([d.id for d in devices]):
        query = select(table.device_id, table.etag, table.version)
        query = query.where(one_of(session, table.device_id, part))
        for device_id, etag, version in session.execute(query):
            stored[device_id] = (etag, version)
    parsed = documents(session, (etag for etag, _v in stored.values()))
    policies: dict[str, tuple[IssuedPolicy, int]] = {}
    for device in devices:
        etag, version = stored.get(device.id, ("", 0))
        if etag in parsed:
            policies[device.id] = (parsed[etag], version)
            continue
        compiled, version = current_policy(session, device, now=now)
        policies[device.id] = (issued(compiled.document(), compiled.etag), version)
    return policies


def installed(session: Session, device_ids: Sequence[str]) -> dict[str, dict[str, str | None]]:
    """The installed apps the server holds, per device (devices with none are absent)."""
    apps: dict[str, dict[str, str | None]] = defaultdict(dict)
    table = InstalledApp
    for part in chunked(device_ids):
        query = select(table.device_id, table.app_id, table.signer)
        query = query.where(one_of(session, table.device_id, part))
        for device_id, app_id, signer in session.execute(query):
            apps[device_id][app_id] = signer
    return apps


def unreachable_after(settings: Settings) -> timedelta:
    return timedelta(hours=settings.unreachable_after_hours)


def _observations(
    session: Session,
    devices: Sequence[Device],
    *,
    now: datetime,
    settings: Settings,
    known_apps: Mapping[str, Apps],
) -> dict[str, Observed]:
    """What the server knows of each device: its last report, inventory and applied rules.
    The inventories in ``known_apps`` are taken as stored, not read again."""
    late = unreachable_after(settings)
    states: dict[str, Any] = {}
    for part in chunked([d.id for d in devices]):
        query = select(
            DeviceState.device_id,
            DeviceState.applied_version,
            DeviceState.inventory_hash,
            DeviceState.reported_at,
        ).where(one_of(session, DeviceState.device_id, part))
        states.update((row.device_id, row) for row in session.execute(query))
    applied_etags: dict[str, str] = {}
    pairs = [(s.device_id, s.applied_version) for s in states.values()]
    table = DevicePolicyIssue
    wanted = set(pairs)
    for narrowed in pairs_narrowed(session, table.device_id, table.version, pairs):
        versions = select(table.device_id, table.version, table.etag).where(narrowed)
        applied_etags.update((d, e) for d, v, e in session.execute(versions) if (d, v) in wanted)
    applied = documents(session, applied_etags.values())
    unknown = [s.device_id for s in states.values() if s.inventory_hash]
    apps: dict[str, Apps] = {**installed(session, [d for d in unknown if d not in known_apps])}
    apps.update(known_apps)
    seen: dict[str, Observed] = {}
    for device in devices:
        state = states.get(device.id)
        if state is None:
            never = now - device.enrolled_at >= late
            seen[device.id] = Observed(now, None, None, frozenset(), never)
            continue
        document = applied.get(applied_etags.get(device.id, ""))
        rules = frozenset(e.id for e in (document.entries if document else []) if in_effect(e, now))
        seen[device.id] = Observed(
            now=now,
            apps=apps.get(device.id, {}) if state.inventory_hash is not None else None,
            reported_at=state.reported_at,
            applied_rules=rules,
            unreachable=now - state.reported_at >= late,
        )
    return seen


@dataclass
class _Writes:
    """Everything a batch writes, gathered before one statement per kind is sent."""

    new_statuses: list[dict[str, Any]] = field(default_factory=list)
    changed_statuses: list[dict[str, Any]] = field(default_factory=list)
    gone_statuses: list[tuple[str, int]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    new_records: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    webhooks: list[dict[str, Any]] = field(default_factory=list)

    def send(self, session: Session) -> None:
        if self.new_statuses:
            insert_rows(session, ComplianceStatus, self.new_statuses)
        if self.changed_statuses:
            update_rows(session, ComplianceStatus, self.changed_statuses)
        table = ComplianceStatus
        gone = self.gone_statuses
        for exactly in pairs_exactly(session, table.device_id, table.determination_id, gone):
            session.execute(delete(table).where(exactly))
        if self.history:
            insert_rows(session, ComplianceHistory, self.history)
        if self.new_records:
            insert_rows(session, DeviceCompliance, self.new_records)
        if self.records:
            update_rows(session, DeviceCompliance, self.records)
        if self.webhooks:
            insert_rows(session, ComplianceWebhook, self.webhooks)


def _status_rows(session: Session, device_ids: Sequence[str]) -> dict[str, dict[int, Any]]:
    rows: dict[str, dict[int, Any]] = defaultdict(dict)
    table = ComplianceStatus
    for part in chunked(device_ids):
        query = select(
            table.device_id,
            table.determination_id,
            table.status,
            table.since,
            table.applies_since,
            table.present,
        ).where(one_of(session, table.device_id, part))
        for row in session.execute(query):
            rows[row.device_id][row.determination_id] = row
    return rows


def _apply(
    writes: _Writes,
    device_id: str,
    entries: Sequence[RuleEntry],
    seen: Observed,
    held: dict[int, Any],
    first: datetime,
) -> dict[int, Judgement]:
    """Judge every rule in force for one device; gather what changed. Rules gone are
    closed in the history. A rule new to the device applies from ``first``."""
    now = seen.now
    held = dict(held)
    judgements: dict[int, Judgement] = {}
    for entry in entries:
        if entry.expires_at is not None and entry.expires_at <= now:
            continue
        row = held.pop(entry.id, None)
        verdict = judge(entry, entries, seen, row.applies_since if row else first)
        judgements[entry.id] = verdict
        key = {"device_id": device_id, "determination_id": entry.id}
        if row is None:
            writes.new_statuses.append(
                key
                | {
                    "status": verdict.status,
                    "since": now,
                    "applies_since": first,
                    "present": verdict.present,
                }
            )
        elif row.status != verdict.status or row.present != verdict.present:
            since = now if row.status != verdict.status else row.since
            writes.changed_statuses.append(
                key | {"status": verdict.status, "since": since, "present": verdict.present}
            )
        if row is None or row.status != verdict.status:
            writes.history.append(key | {"status": verdict.status, "at": now})
    for determination_id in held:
        writes.gone_statuses.append((device_id, determination_id))
        writes.history.append(
            {
                "device_id": device_id,
                "determination_id": determination_id,
                "status": NOT_APPLICABLE,
                "at": now,
            }
        )
    return judgements


def _webhook(
    device_id: str, judgements: dict[int, Judgement], compliant: bool, now: datetime
) -> dict[str, Any]:
    failing = sorted(i for i, j in judgements.items() if j.status not in ("compliant", "exempt"))
    payload = {
        "event": "device.compliance_changed",
        "device_id": device_id,
        "compliant": compliant,
        "at": iso(now),
        "determinations": {str(i): judgements[i].status for i in failing},
    }
    return {
        "device_id": device_id,
        "payload": payload,
        "created_at": now,
        "attempts": 0,
        "next_attempt_at": now,
    }


@dataclass(frozen=True)
class Judged:
    """The outcome of :func:`judge_many`."""

    versions: dict[str, int]  # device id → the policy version judged against
    changed: list[str]  # devices whose overall verdict changed


def judge_many(
    session: Session,
    devices: Sequence[Device],
    *,
    now: datetime,
    settings: Settings,
    applies_from: Mapping[str, datetime] | None = None,
    known_apps: Mapping[str, Apps] | None = None,
) -> Judged:
    """Judge ``devices`` against their current policies and write what changed: status
    rows, their history, each device's overall verdict, and (if configured) a webhook for
    every device whose verdict changed.

    A rule new to a device applies to it from now, or from ``applies_from[device id]``
    when given (an imported inventory, taken before the server knew the device).
    ``known_apps``: inventories the caller has just stored, in this transaction (a state
    report's), so they are not read back."""
    applies_from = applies_from or {}
    live = [d for d in devices if d.state != "retired"]
    ids = [d.id for d in live]
    policies = current(session, live, now=now)
    seen = _observations(session, live, now=now, settings=settings, known_apps=known_apps or {})
    held = _status_rows(session, ids)
    records: dict[str, bool] = {}
    for part in chunked(ids):
        query = select(DeviceCompliance.device_id, DeviceCompliance.compliant)
        query = query.where(one_of(session, DeviceCompliance.device_id, part))
        records.update((d, c) for d, c in session.execute(query))
    writes = _Writes()
    changed = []
    for device in live:
        policy, version = policies[device.id]
        observed = seen[device.id]
        first = min(applies_from.get(device.id, now), now)
        judgements = _apply(
            writes, device.id, policy.entries, observed, held.get(device.id, {}), first
        )
        compliant = overall(judgements.values())
        record = {
            "device_id": device.id,
            "policy_version": version,
            "compliant": compliant,
            "unreachable": observed.unreachable,
            "evaluated_at": now,
        }
        before = records.get(device.id)
        (writes.new_records if device.id not in records else writes.records).append(record)
        if before is None or before != compliant:
            changed.append(device.id)
            if settings.compliance_webhook_url:
                writes.webhooks.append(_webhook(device.id, judgements, compliant, now))
    writes.send(session)
    return Judged({d: v for d, (_p, v) in policies.items()}, changed)
