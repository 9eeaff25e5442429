"""Waivers: requested by one user, approved by another, for a determination in force.

A waiver applies while it is approved, not revoked and before its expiry, and only while
its determination applies: no one needs to act for an expired waiver to stop applying.
Every change is a timeline entry of the determination and an audit event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session

from appwarden.audit import service as audit
from appwarden.auth.roles import Permission
from appwarden.decisions import service as decisions
from appwarden.decisions.lifecycle import Status
from appwarden.decisions.models import Determination
from appwarden.decisions.service import Acting
from appwarden.enforcement.changes import note_change
from appwarden.errors import Conflict, Invalid, NotFound, SeparationOfDuties
from appwarden.waivers.models import Waiver
from appwarden.waivers.schemas import State, WaiverCreate, WaiverRead, effective_state


def get(session: Session, waiver_id: int, *, lock: bool = False) -> Waiver:
    waiver = session.get(Waiver, waiver_id, with_for_update=lock)
    if waiver is None:
        raise NotFound(f"no waiver {waiver_id}")
    return waiver


def _in_force(acting: Acting, determination: Determination) -> None:
    decisions.settle(acting, determination)
    status = decisions.current_status(determination, acting.clock.now())
    if status is not Status.in_force:
        raise Conflict(
            f"waivers are for determinations in force; determination {determination.id} "
            f"is {status.value}"
        )


def _record(
    acting: Acting, waiver: Waiver, action: str, before: str | None, note: str | None = None
) -> None:
    """The determination's timeline entry and the waiver's audit event (before/after state)."""
    determination = decisions.get(acting.session, waiver.determination_id)
    status = Status(determination.status)
    if action in ("approve", "revoke"):  # the named devices' policies change
        note_change(acting.session, "waiver", waiver.id, acting.clock.now())
    details = {"waiver_state": waiver.state, "expires_at": waiver.expires_at.isoformat()}
    decisions.record(
        acting, determination, f"waiver.{action}", before=status, after=status, note=note,
        waiver_id=waiver.id, details=details,
    )  # fmt: skip
    audit.append(
        acting.session,
        key=acting.audit_key,
        clock=acting.clock,
        actor=acting.principal.actor,
        action=f"waiver.{action}",
        object_type="waiver",
        object_id=waiver.id,
        before={"state": before} if before else None,
        after={
            "state": waiver.state,
            "determination_id": determination.id,
            **({"note": note} if note else {}),
            **({"request": _summary(waiver)} if before is None else {}),
        },
    )


def _summary(waiver: Waiver) -> dict[str, object]:
    return {
        "devices": waiver.devices,
        "users": waiver.users,
        "reason": waiver.reason,
        "mitigations": waiver.mitigations,
        "expires_at": waiver.expires_at.isoformat(),
    }


def request(acting: Acting, determination_id: int, body: WaiverCreate) -> Waiver:
    """Ask for an exception for the named devices and users, until ``expires_at``."""
    acting.require(Permission.request_waiver)
    determination = decisions.get(acting.session, determination_id, lock=True)
    _in_force(acting, determination)
    now = acting.clock.now()
    longest = acting.settings.waiver_max_days
    if body.expires_at <= now:
        raise Invalid("expires_at must be in the future")
    if body.expires_at > now + timedelta(days=longest):
        raise Invalid(f"a waiver lasts at most {longest} days (APPWARDEN_WAIVER_MAX_DAYS)")
    principal = acting.principal
    waiver = Waiver(
        determination_id=determination.id,
        devices=body.devices,
        users=body.users,
        reason=body.reason,
        justification=body.justification,
        mitigations=body.mitigations,
        expires_at=body.expires_at,
        state="requested",
        requested_by_id=principal.user_id,
        requested_by=principal.actor,
        requested_at=now,
    )
    acting.session.add(waiver)
    acting.session.flush()
    _record(acting, waiver, "request", None)
    return waiver


def approve(acting: Acting, waiver_id: int, *, note: str | None = None) -> Waiver:
    """Approve a requested waiver: by someone other than its requester, while in force."""
    acting.require(Permission.approve_waiver)
    waiver = get(acting.session, waiver_id, lock=True)
    state = effective_state(waiver, acting.clock.now())
    if state != "requested":
        raise Conflict(f"only a requested waiver can be approved; waiver {waiver_id} is {state}")
    if acting.principal.user_id is not None and acting.principal.user_id == waiver.requested_by_id:
        raise SeparationOfDuties(
            f"{acting.principal.actor} requested waiver {waiver_id} and may not approve it; "
            "another approver must decide"
        )
    _in_force(acting, decisions.get(acting.session, waiver.determination_id, lock=True))
    waiver.state = "approved"
    waiver.approved_by, waiver.approved_at = acting.principal.actor, acting.clock.now()
    _record(acting, waiver, "approve", "requested", note)
    return waiver


def revoke(acting: Acting, waiver_id: int, *, note: str) -> Waiver:
    """End a requested or active waiver now."""
    acting.require(Permission.approve_waiver)
    waiver = get(acting.session, waiver_id, lock=True)
    state = effective_state(waiver, acting.clock.now())
    if state not in ("requested", "active"):
        raise Conflict(f"waiver {waiver_id} is already {state}")
    before = waiver.state
    waiver.state = "revoked"
    waiver.revoked_by, waiver.revoked_at = acting.principal.actor, acting.clock.now()
    waiver.revoke_note = note
    _record(acting, waiver, "revoke", before, note)
    return waiver


def state_clause(wanted: State, now: datetime) -> ColumnElement[bool]:
    """SQL for ``effective_state(...) == wanted``."""
    live = Waiver.expires_at > now
    if wanted == "revoked":
        return Waiver.state == "revoked"
    if wanted == "expired":
        return and_(Waiver.state != "revoked", ~live)
    return and_(Waiver.state == ("approved" if wanted == "active" else "requested"), live)


def query(
    *, now: datetime, determination_id: int | None = None, state: State | None = None
) -> Select[Waiver]:
    stmt = select(Waiver).order_by(Waiver.id)
    if determination_id is not None:
        stmt = stmt.where(Waiver.determination_id == determination_id)
    if state is not None:
        stmt = stmt.where(state_clause(state, now))
    return stmt


def active(session: Session, *, now: datetime) -> list[Waiver]:
    """Waivers that apply now: active, and their determination applies now."""
    rows = session.scalars(query(now=now, state="active")).all()
    applying = {d.id for d in decisions.in_force_now(session, now=now)}
    return [w for w in rows if w.determination_id in applying]


def read(session: Session, waiver: Waiver, *, now: datetime) -> WaiverRead:
    determination = session.get(Determination, waiver.determination_id)
    applies = determination is not None and decisions.applies_now(determination, now)
    return WaiverRead.of(waiver, now=now, determination_applies=applies)


def for_determination(
    session: Session, determination: Determination, *, now: datetime
) -> list[WaiverRead]:
    rows = session.scalars(query(now=now, determination_id=determination.id)).all()
    applies = decisions.applies_now(determination, now)
    return [WaiverRead.of(w, now=now, determination_applies=applies) for w in rows]
