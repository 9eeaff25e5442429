"""The database side of the policy: each device's current version and document, read
without compiling when nothing changed, compiled when the device has none yet or the clock
changed it; and the documents issued in the past.

Recompilation after changes is :mod:`appwarden.enforcement.reconcile`; inputs are
:mod:`appwarden.enforcement.inputs`; issuing versions is :mod:`appwarden.enforcement.versions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from appwarden.db import one_of
from appwarden.enforcement.inputs import rule_inputs, waiver_inputs
from appwarden.enforcement.models import (
    DevicePolicyIssue,
    DevicePolicyVersion,
    PolicyChange,
    PolicyDocument,
)
from appwarden.enforcement.reconcile import pending, reconcile
from appwarden.enforcement.versions import issue, lock, store_document
from appwarden.fleet.membership import chunks, device_input
from appwarden.fleet.models import Device
from appwarden.policy import DevicePolicy, compile_policy

__all__ = [
    "Current",
    "current_policy",
    "current_version",
    "stored_versions",
    "document",
    "issued_document",
    "rule_inputs",
    "store_document",
    "waiver_inputs",
]


@dataclass(frozen=True)
class Current:
    """A device's current policy version and the content hash of its document."""

    version: int
    etag: str


def _stored(session: Session, device_id: str, now: datetime) -> Current | None:
    """The stored version, if there is one and the clock has not changed it since."""
    row = session.execute(
        select(
            DevicePolicyVersion.version,
            DevicePolicyVersion.etag,
            DevicePolicyVersion.next_change_at,
        ).where(DevicePolicyVersion.device_id == device_id)
    ).one_or_none()
    if row is None or (row.next_change_at is not None and row.next_change_at <= now):
        return None
    return Current(row.version, row.etag)


#: The device's stored row and whether a change waits in the outbox, in one statement: one
#: snapshot, so a recompilation cannot commit between the two reads. Built once: its cache
#: key is computed once too (a check-in runs it, and little else).
_STORED = select(
    DevicePolicyVersion.version,
    DevicePolicyVersion.etag,
    DevicePolicyVersion.next_change_at,
    exists().where(PolicyChange.processed_at.is_(None)).correlate(None).label("waiting"),
).where(DevicePolicyVersion.device_id == bindparam("device_id"))


def stored_version(session: Session, device_id: str, *, now: datetime) -> Current | None:
    """The device's version as stored, if it is current: no change waits in the outbox and
    the clock has not changed it. Reads only (None: ask :func:`current_version`)."""
    row = session.execute(_STORED, {"device_id": device_id}).one_or_none()
    if row is None or row.waiting:
        return None
    if row.next_change_at is not None and row.next_change_at <= now:
        return None
    return Current(row.version, row.etag)


def stored_versions(
    session: Session, device_ids: Sequence[str], *, now: datetime
) -> dict[str, Current]:
    """:func:`stored_version` for many devices: those whose stored version is current.
    Empty while a change waits in the outbox (ask :func:`current_version`)."""
    if not device_ids or pending(session):
        return {}
    table = DevicePolicyVersion
    found: dict[str, Current] = {}
    for part in chunks(sorted(set(device_ids))):
        query = select(table.device_id, table.version, table.etag, table.next_change_at)
        for row in session.execute(query.where(one_of(session, table.device_id, part))):
            if row.next_change_at is None or row.next_change_at > now:
                found[row.device_id] = Current(row.version, row.etag)
    return found


def current_version(session: Session, device: Device, *, now: datetime) -> Current:
    """The device's current version: read from ``device_policies``; compiled only when
    changes wait in the outbox (they are applied first, for every device they affect), the
    device has no version yet, or its ``next_change_at`` has passed."""
    # The outbox first: with no change waiting, every change committed so far has been
    # applied (in the same transaction that marked it processed), so the row read next is
    # at least that new. Read the other way round, a recompilation committing between the
    # two reads would go unnoticed.
    waiting = pending(session)
    found = _stored(session, device.id, now)
    if found is not None and not waiting:
        return found
    lock(session)
    if pending(session):
        reconcile(session, now)
    found = _stored(session, device.id, now)
    if found is not None:
        return found
    issued = issue(session, [device], now=now)
    return Current(issued.versions[device.id], issued.policies[device.id].etag)


def document(session: Session, etag: str) -> dict[str, Any] | None:
    """The stored document with this content hash."""
    row = session.get(PolicyDocument, etag)
    return None if row is None else row.document


def current_policy(session: Session, device: Device, *, now: datetime) -> tuple[DevicePolicy, int]:
    """The device's policy compiled now and its version (a new version is issued, under the
    issuing lock, if the content differs from the stored one)."""
    policy = compile_policy(
        device_input(session, device),
        rule_inputs(session, now=now),
        waiver_inputs(session, now=now),
        now=now,
    )
    stored = session.execute(
        select(DevicePolicyVersion.version, DevicePolicyVersion.etag).where(
            DevicePolicyVersion.device_id == device.id
        )
    ).one_or_none()
    if stored is not None and stored.etag == policy.etag:
        return policy, stored.version
    lock(session)
    issued = issue(session, [device], now=now)
    return issued.policies[device.id], issued.versions[device.id]


def issued_document(session: Session, device_id: str, version: int) -> dict[str, Any] | None:
    """The policy document issued to ``device_id`` as ``version``; None if never issued."""
    etag = session.scalar(
        select(DevicePolicyIssue.etag).where(
            DevicePolicyIssue.device_id == device_id, DevicePolicyIssue.version == version
        )
    )
    if etag is None:
        return None
    return document(session, etag)
