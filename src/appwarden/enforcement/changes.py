"""The policy outbox's writers: services call these in the transaction of a change that may
alter some devices' policies (see :class:`~appwarden.enforcement.models.PolicyChange`).

Low-level on purpose (it imports only the enforcement tables), so every service can use it
without an import cycle. The session is marked, so whoever commits it can nudge the
distributor right after the commit (see ``session.info[PENDING]``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, insert, literal, select
from sqlalchemy.orm import Session

from appwarden.enforcement.models import PolicyChange

ChangeKind = Literal["determination", "waiver", "group", "device", "catalog"]
#: ``session.info`` key set when a transaction wrote outbox rows.
PENDING = "appwarden.policy_changes"


def note_change(session: Session, kind: ChangeKind, ref: object, now: datetime) -> None:
    """Record that ``kind`` ``ref`` changed: its devices' policies are recompiled after commit."""
    session.add(PolicyChange(kind=kind, ref=str(ref)[:64], created_at=now, processed_at=None))
    session.info[PENDING] = True


def note_devices(session: Session, device_ids: Select[Any], now: datetime) -> None:
    """One ``device`` change per row of ``device_ids`` (a query of device ids), in one
    statement: e.g. a group's members before its rule changes."""
    rows = select(
        literal("device"), device_ids.subquery().c[0], literal(now, PolicyChange.created_at.type)
    )
    session.execute(
        insert(PolicyChange).from_select(["kind", "ref", "created_at"], rows),
        execution_options={"synchronize_session": False},
    )
    session.info[PENDING] = True
