"""Each device's status per determination, kept current, with an append-only history.

:func:`recompute` judges one device against its current policy (after a state report);
:func:`refresh` judges again every device whose policy changed since it was last judged,
that was never judged, or that has just become unreachable (the distribution's reconcile
calls it, and so do the compliance reads). A status change writes one history row; a
change of a device's overall verdict queues a webhook (delivered after the commit).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from appwarden.compliance.models import (
    NOT_APPLICABLE,
    ComplianceHistory,
    ComplianceStatus,
    ComplianceWebhook,
    DeviceCompliance,
    DeviceReport,
    DeviceState,
    InstalledApp,
)
from appwarden.compliance.status import (
    Judgement,
    Observed,
    entries_of,
    judge,
    overall,
)
from appwarden.config import Settings
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


class Documents:
    """Issued policy documents, parsed once per unit of work: devices share them by ETag."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._parsed: dict[str, IssuedPolicy] = {}

    def get(self, etag: str) -> IssuedPolicy | None:
        found = self._parsed.get(etag)
        if found is None:
            row = self.session.get(PolicyDocument, etag)
            if row is None:
                return None
            found = self._parsed[etag] = issued(row.document, etag)
        return found

    def current(self, device: Device, *, now: datetime) -> tuple[IssuedPolicy, int]:
        """The policy last issued to ``device`` and its version (what distribution keeps
        current), compiled now only if none was ever issued. Rules and waivers that lapse
        by the clock are applied when judging (``in_effect`` at ``now``)."""
        stored = self.session.get(DevicePolicyVersion, device.id)
        if stored is not None:
            found = self.get(stored.etag)
            if found is not None:
                return found, stored.version
        policy, version = current_policy(self.session, device, now=now)
        return issued(policy.document(), policy.etag), version

    def applied(self, device_id: str, version: int, now: datetime) -> frozenset[int]:
        """Rules in effect at ``now`` in the version the device says it applied."""
        etag = self.session.scalar(
            select(DevicePolicyIssue.etag).where(
                DevicePolicyIssue.device_id == device_id, DevicePolicyIssue.version == version
            )
        )
        found = None if etag is None else self.get(etag)
        if found is None:
            return frozenset()
        return frozenset(e.id for e in found.entries if in_effect(e, now))


#: How long a report id is remembered: a retry later than this is a new report.
REPORT_IDS_KEPT = timedelta(days=30)


def prune_report_ids(session: Session, now: datetime) -> None:
    session.execute(delete(DeviceReport).where(DeviceReport.received_at < now - REPORT_IDS_KEPT))


def unreachable_after(settings: Settings) -> timedelta:
    return timedelta(hours=settings.unreachable_after_hours)


def installed_apps(session: Session, device_id: str) -> dict[str, str | None]:
    rows = session.execute(
        select(InstalledApp.app_id, InstalledApp.signer).where(InstalledApp.device_id == device_id)
    )
    return {str(app_id): signer for app_id, signer in rows}


def _observed(docs: Documents, device: Device, *, now: datetime, settings: Settings) -> Observed:
    session = docs.session
    state = session.get(DeviceState, device.id)
    if state is None:
        last = device.enrolled_at
        return Observed(now, None, None, frozenset(), now - last >= unreachable_after(settings))
    return Observed(
        now=now,
        apps=installed_apps(session, device.id) if state.inventory_hash is not None else None,
        reported_at=state.reported_at,
        applied_rules=docs.applied(device.id, state.applied_version, now),
        unreachable=now - state.reported_at >= unreachable_after(settings),
    )


def _history(
    session: Session, device_id: str, determination_id: int, status: str, at: datetime
) -> None:
    session.add(
        ComplianceHistory(
            device_id=device_id, determination_id=determination_id, status=status, at=at
        )
    )


def _apply(
    session: Session, device: Device, entries: Sequence[RuleEntry], seen: Observed
) -> dict[int, Judgement]:
    """Judge every rule in force, write what changed; rules gone are closed in the history."""
    now = seen.now
    current = {
        row.determination_id: row
        for row in session.scalars(
            select(ComplianceStatus).where(ComplianceStatus.device_id == device.id)
        )
    }
    judgements: dict[int, Judgement] = {}
    for entry in entries:
        if entry.expires_at is not None and entry.expires_at <= now:
            continue
        row = current.pop(entry.id, None)
        verdict = judge(entry, entries, seen, row.applies_since if row else now)
        judgements[entry.id] = verdict
        if row is None:
            session.add(
                ComplianceStatus(
                    device_id=device.id,
                    determination_id=entry.id,
                    status=verdict.status,
                    since=now,
                    applies_since=now,
                    present=verdict.present,
                )
            )
            _history(session, device.id, entry.id, verdict.status, now)
            continue
        if row.status != verdict.status:
            row.status, row.since = verdict.status, now
            _history(session, device.id, entry.id, verdict.status, now)
        row.present = verdict.present
    for determination_id in current:
        session.execute(
            delete(ComplianceStatus).where(
                ComplianceStatus.device_id == device.id,
                ComplianceStatus.determination_id == determination_id,
            )
        )
        _history(session, device.id, determination_id, NOT_APPLICABLE, now)
    return judgements


def _queue_webhook(
    session: Session,
    device: Device,
    judgements: dict[int, Judgement],
    compliant: bool,
    now: datetime,
) -> None:
    failing = sorted(i for i, j in judgements.items() if j.status not in ("compliant", "exempt"))
    payload = {
        "event": "device.compliance_changed",
        "device_id": device.id,
        "compliant": compliant,
        "at": iso(now),
        "determinations": {str(i): judgements[i].status for i in failing},
    }
    session.add(
        ComplianceWebhook(
            device_id=device.id,
            payload=payload,
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
    )


def judge_device(
    docs: Documents,
    device: Device,
    entries: Sequence[RuleEntry],
    version: int,
    *,
    now: datetime,
    settings: Settings,
) -> bool:
    """Judge ``device`` against the rules of its policy ``version``; True if its overall
    verdict changed (a webhook is then queued, if one is configured)."""
    session = docs.session
    seen = _observed(docs, device, now=now, settings=settings)
    judgements = _apply(session, device, entries, seen)
    compliant = overall(judgements.values())
    record = session.get(DeviceCompliance, device.id)
    changed = record is None or record.compliant != compliant
    if record is None:
        record = DeviceCompliance(device_id=device.id)
        session.add(record)
    record.policy_version = version
    record.compliant = compliant
    record.unreachable = seen.unreachable
    record.evaluated_at = now
    if changed and settings.compliance_webhook_url:
        _queue_webhook(session, device, judgements, compliant, now)
    session.flush()
    return changed


def recompute(session: Session, device: Device, *, now: datetime, settings: Settings) -> int:
    """Judge ``device`` against its current policy; returns that policy's version."""
    docs = Documents(session)
    policy, version = docs.current(device, now=now)
    judge_device(docs, device, policy.entries, version, now=now, settings=settings)
    return version


def due(session: Session, now: datetime, settings: Settings) -> set[str]:
    """Devices to judge again: policy changed, never judged, or newly unreachable."""
    live = Device.state != "retired"
    changed = (
        select(DevicePolicyVersion.device_id)
        .join(Device, Device.id == DevicePolicyVersion.device_id)
        .outerjoin(DeviceCompliance, DeviceCompliance.device_id == DevicePolicyVersion.device_id)
        .where(
            live,
            or_(
                DeviceCompliance.device_id.is_(None),
                DeviceCompliance.policy_version.is_(None),
                DeviceCompliance.policy_version != DevicePolicyVersion.version,
            ),
        )
    )
    never = (
        select(Device.id)
        .outerjoin(DeviceCompliance, DeviceCompliance.device_id == Device.id)
        .where(live, DeviceCompliance.device_id.is_(None))
    )
    silent = (
        select(Device.id)
        .join(DeviceCompliance, DeviceCompliance.device_id == Device.id)
        .outerjoin(DeviceState, DeviceState.device_id == Device.id)
        .where(
            live,
            DeviceCompliance.unreachable.is_(False),
            func.coalesce(DeviceState.reported_at, Device.enrolled_at)
            <= now - unreachable_after(settings),
        )
    )
    due: set[str] = set()
    for query in (changed, never, silent):
        due.update(str(i) for i in session.scalars(query))
    return due


def refresh(
    session: Session,
    now: datetime,
    device_ids: Iterable[str] | None = None,
    *,
    settings: Settings,
) -> list[str]:
    """Judge again ``device_ids`` (all of them), or, if None, every device whose policy
    version changed since it was last judged, that was never judged or that has become
    unreachable (and forgets report ids older than :data:`REPORT_IDS_KEPT`). Returns the
    devices whose overall verdict changed."""
    if device_ids is None:
        prune_report_ids(session, now)
    ids = sorted(set(device_ids) if device_ids is not None else due(session, now, settings))
    changed = []
    docs = Documents(session)
    for device_id in ids:
        device = session.get(Device, device_id)
        if device is None or device.state == "retired":
            continue
        policy, version = docs.current(device, now=now)
        if judge_device(docs, device, policy.entries, version, now=now, settings=settings):
            changed.append(device_id)
    return changed
