"""Compile devices' policies and issue versions: one compilation per distinct inputs, one
stored document per content hash, a new version (and history row) only where the content
hash changed, and one new policy generation per batch of changes.

Every writer of ``device_policies`` holds :func:`lock` first, so two server processes never
issue versions from different snapshots (on PostgreSQL a transaction-scoped advisory lock;
SQLite's ``BEGIN IMMEDIATE`` already serialises writers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from appwarden.enforcement.inputs import rule_inputs, waiver_inputs
from appwarden.enforcement.models import (
    DevicePolicyIssue,
    DevicePolicyVersion,
    PolicyDocument,
    PolicyGeneration,
)
from appwarden.fleet.membership import CHUNK, DeviceFacts, chunks, device_inputs
from appwarden.policy import DevicePolicy, RuleInput, WaiverInput, compile_policy
from appwarden.policy.compile import policy_inputs_key

#: PostgreSQL channel told the new generation after each batch (``NOTIFY``).
CHANNEL = "appwarden_policy"
#: ``session.info`` key set when a transaction issued new versions (to wake long-polls).
ISSUED = "appwarden.policy_issued"
_LOCK_KEY = 0x41505057  # "APPW": the advisory lock of policy issuing


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock(session: Session) -> None:
    """Become the one writer of device policies until this transaction ends."""
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def generation(session: Session) -> int:
    """The current policy generation (0 before any change)."""
    value = session.scalar(select(PolicyGeneration.value).where(PolicyGeneration.id == 1))
    return int(value or 0)


def _bump_generation(session: Session) -> int:
    value = session.scalar(
        update(PolicyGeneration)
        .where(PolicyGeneration.id == 1)
        .values(value=PolicyGeneration.value + 1)
        .returning(PolicyGeneration.value),
        execution_options={"synchronize_session": False},
    )
    if value is None:  # the seeded row is missing: start it
        session.add(PolicyGeneration(id=1, value=1))
        session.flush()
        return 1
    return int(value)


def store_document(session: Session, etag: str, document: dict[str, Any], *, now: datetime) -> None:
    """Keep ``document`` under its content hash (once: equal inputs share one row)."""
    if session.get(PolicyDocument, etag) is not None:
        return
    try:
        with session.begin_nested():
            session.add(PolicyDocument(etag=etag, document=document, created_at=now))
    except IntegrityError:
        pass  # another request stored the same document meanwhile: same content


# Set-based writes: devices changed alike (same document, same next change) are updated by
# one statement per ``IN`` list; executemany costs a round trip per row on PostgreSQL.
_CURRENT: Table = DevicePolicyVersion.__table__  # type: ignore[assignment]
_HISTORY: Table = DevicePolicyIssue.__table__  # type: ignore[assignment]
_ROWS_PER_INSERT = 1000


def _alike(changes: dict[str, dict[str, Any]]) -> dict[tuple[Any, ...], list[str]]:
    """Device ids grouped by the values they are given."""
    groups: dict[tuple[Any, ...], list[str]] = {}
    for device_id, values in changes.items():
        groups.setdefault(tuple(sorted(values.items())), []).append(device_id)
    return groups


def _update(session: Session, changes: dict[str, dict[str, Any]], **extra: Any) -> None:
    """Set ``changes[device_id]`` (and ``extra``) on each device's current row."""
    for key, device_ids in _alike(changes).items():
        for part in chunks(device_ids):
            session.execute(
                update(_CURRENT)
                .where(_CURRENT.c.device_id.in_(part))
                .values({**dict(key), **extra}),
                execution_options={"synchronize_session": False},
            )


def _insert_first(session: Session, rows: list[dict[str, Any]]) -> None:
    for part in chunks(rows, _ROWS_PER_INSERT):
        session.execute(insert(_CURRENT).values(list(part)))


def _record_history(session: Session, seq: int) -> None:
    """Every row this batch stamped with generation ``seq`` becomes a history row."""
    current = select(
        _CURRENT.c.device_id, _CURRENT.c.version, _CURRENT.c.etag, _CURRENT.c.issued_at
    ).where(_CURRENT.c.seq == seq)
    session.execute(
        insert(_HISTORY).from_select(["device_id", "version", "etag", "issued_at"], current)
    )


def _stored(session: Session, device_ids: list[str]) -> dict[str, Any]:
    """The current rows of these devices (version, etag, next_change_at), by device id."""
    table = DevicePolicyVersion
    query = select(table.device_id, table.version, table.etag, table.next_change_at)
    if len(device_ids) > CHUNK:  # much of the fleet: one read, filtered here
        wanted = set(device_ids)
        return {row.device_id: row for row in session.execute(query) if row.device_id in wanted}
    stored: dict[str, Any] = {}
    for part in chunks(device_ids):
        rows = session.execute(query.where(table.device_id.in_(part)))
        stored.update({row.device_id: row for row in rows})
    return stored


@dataclass(frozen=True)
class Issued:
    """What :func:`issue` did: documents compiled, devices whose version grew (or got
    their first), every device's policy and version, and the new generation (if any)."""

    documents_compiled: int
    changed: tuple[str, ...]
    policies: dict[str, DevicePolicy]
    versions: dict[str, int]
    generation: int | None


def _compile(
    session: Session,
    devices: Sequence[DeviceFacts],
    rules: Sequence[RuleInput],
    waivers: Sequence[WaiverInput],
    now: datetime,
) -> tuple[dict[str, tuple[DevicePolicy, str]], int]:
    """Each device's policy and its content hash, compiled (and hashed) once per distinct
    inputs; and how many distinct inputs there were."""
    compiled: dict[tuple[object, ...], tuple[DevicePolicy, str]] = {}
    policies: dict[str, tuple[DevicePolicy, str]] = {}
    for device_id, device in device_inputs(session, devices).items():
        key = policy_inputs_key(device, rules, waivers, now=now)
        found = compiled.get(key)
        if found is None:
            policy = compile_policy(device, rules, waivers, now=now)
            found = compiled[key] = (policy, policy.etag)
        policies[device_id] = found
    return policies, len(compiled)


def issue(session: Session, devices: Sequence[DeviceFacts], *, now: datetime) -> Issued:
    """Compile ``devices``' policies now and issue new versions where they changed.

    The caller holds :func:`lock`. On PostgreSQL the new generation is sent on
    :data:`CHANNEL` when the transaction commits."""
    rules = rule_inputs(session, now=now)
    waivers = waiver_inputs(session, now=now)
    compiled_for, compiled = _compile(session, devices, rules, waivers, now)
    for policy, etag in {etag: (p, etag) for p, etag in compiled_for.values()}.values():
        store_document(session, etag, policy.document(), now=now)
    stored = _stored(session, list(compiled_for))
    first: list[dict[str, Any]] = []
    bumped: dict[str, dict[str, Any]] = {}
    timers: dict[str, dict[str, Any]] = {}
    versions: dict[str, int] = {}
    for device_id, (policy, etag) in compiled_for.items():
        row = stored.get(device_id)
        values: dict[str, Any] = {"etag": etag, "next_change_at": policy.next_change_at}
        if row is None:
            first.append(values | {"device_id": device_id, "version": 1, "issued_at": now})
            versions[device_id] = 1
        elif row.etag != etag:
            bumped[device_id] = values
            versions[device_id] = row.version + 1
        else:
            if row.next_change_at != policy.next_change_at:
                timers[device_id] = {"next_change_at": policy.next_change_at}
            versions[device_id] = row.version
    new_generation: int | None = None
    if first or bumped:
        new_generation = _bump_generation(session)
        session.info[ISSUED] = True
        for values in first:
            values["seq"] = new_generation
        _insert_first(session, first)
        _update(
            session,
            bumped,
            version=_CURRENT.c.version + 1,
            issued_at=now,
            seq=new_generation,
        )
        _record_history(session, new_generation)
        if is_postgres(session):
            session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": str(new_generation)},
            )
    _update(session, timers)
    changed = tuple(v["device_id"] for v in first) + tuple(bumped)
    policies = {device_id: policy for device_id, (policy, _etag) in compiled_for.items()}
    return Issued(compiled, changed, policies, versions, new_generation)
