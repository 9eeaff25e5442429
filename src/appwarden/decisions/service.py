"""Determinations: create and edit drafts, find them, record vendor replies, the timeline.

Plain functions over an :class:`Acting` (who acts, in which unit of work, at which time);
the caller owns the transaction. Lifecycle transitions are in
:mod:`appwarden.decisions.transitions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import JSON, Select, column, select, table
from sqlalchemy.orm import Session

from appwarden.audit import service as audit
from appwarden.auth.roles import Permission, allows
from appwarden.auth.service import Principal
from appwarden.clock import Clock
from appwarden.config import Settings
from appwarden.decisions.lifecycle import SYSTEM, Status, effective_status, status_clause
from appwarden.decisions.models import Determination, DeterminationEvent, DeterminationEvidence
from appwarden.decisions.schemas import DeterminationCreate, DeterminationUpdate
from appwarden.enforcement.changes import note_change
from appwarden.errors import Conflict, Forbidden, Invalid, NotFound

# The catalog's tables, by name only: this package reads them and never imports their models.
assessments = table(
    "assessments",
    column("id"),
    column("verdict"),
    column("score_total"),
    column("grade"),
    column("document", JSON),
)
publishers = table("publishers", column("id"), column("name"), column("jurisdiction"))


@dataclass(frozen=True)
class Acting:
    """Who acts, in which unit of work and at which time (the clock is injected)."""

    session: Session
    clock: Clock
    audit_key: bytes
    settings: Settings
    principal: Principal

    def require(self, permission: Permission) -> None:
        if not allows(self.principal.role, permission):
            raise Forbidden(f"the {self.principal.role.value} role may not {permission.value}")


def get(session: Session, determination_id: int, *, lock: bool = False) -> Determination:
    determination = session.get(Determination, determination_id, with_for_update=lock)
    if determination is None:
        raise NotFound(f"no determination {determination_id}")
    return determination


def current_status(determination: Determination, now: datetime) -> Status:
    """The effective status: the one rule every read and every query uses."""
    return effective_status(Status(determination.status), determination.expires_at, now)


def applies_now(determination: Determination, now: datetime) -> bool:
    """In force (end date not passed) and past its effective time."""
    if current_status(determination, now) is not Status.in_force:
        return False
    return determination.effective_at is None or determination.effective_at <= now


def record(
    acting: Acting,
    determination: Determination,
    action: str,
    *,
    before: Status | None,
    after: Status | None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
    waiver_id: int | None = None,
    system: bool = False,
) -> DeterminationEvent:
    """One timeline entry and (but for waivers) its audit event, in the caller's transaction."""
    actor = SYSTEM if system else acting.principal.actor
    event = DeterminationEvent(
        determination_id=determination.id,
        at=acting.clock.now(),
        actor=actor,
        action=action,
        from_status=before.value if before else None,
        to_status=after.value if after else None,
        waiver_id=waiver_id,
        note=note,
        details=details,
    )
    determination.events.append(event)
    if waiver_id is None and Status.in_force in (before, after) and action != "reply":
        # What is in force may change: the devices in scope are recompiled after commit.
        note_change(acting.session, "determination", determination.id, event.at)
    if waiver_id is None:  # a waiver's audit event is its own (see waivers.service)
        audit.append(
            acting.session,
            key=acting.audit_key,
            clock=acting.clock,
            actor=actor,
            action=f"determination.{action}",
            object_type="determination",
            object_id=determination.id,
            before={"status": before.value} if before else None,
            after={
                **({"status": after.value} if after else {}),
                **({"note": note} if note else {}),
                **(details or {}),
            },
        )
    return event


def settle(acting: Acting, determination: Determination) -> None:
    """Bring the stored status up to the effective one (an end date passed): ``expire``."""
    now = acting.clock.now()
    if (
        determination.status == Status.in_force
        and current_status(determination, now) is Status.expired
    ):
        determination.status = Status.expired.value
        determination.updated_at = now
        note = f"end date {determination.expires_at:%Y-%m-%d %H:%M} UTC passed"
        record(
            acting,
            determination,
            "expire",
            before=Status.in_force,
            after=Status.expired,
            note=note,
            system=True,
        )


def expire_lapsed(acting: Acting) -> list[int]:
    """Record ``expire`` for every determination whose end date has passed (a sweep; the
    effective status does not wait for it). Returns their ids."""
    now = acting.clock.now()
    lapsed = acting.session.scalars(
        select(Determination)
        .where(
            Determination.status == Status.in_force.value,
            Determination.expires_at.is_not(None),
            Determination.expires_at <= now,
        )
        .order_by(Determination.id)
        .with_for_update()
    ).all()
    for determination in lapsed:
        settle(acting, determination)
    return [d.id for d in lapsed]


def _check_references(session: Session, body: DeterminationCreate) -> None:
    if body.evidence:
        found = set(
            session.scalars(select(assessments.c.id).where(assessments.c.id.in_(body.evidence)))
        )
        missing = [i for i in body.evidence if i not in found]
        if missing:
            raise Invalid(f"no assessment {', '.join(map(str, missing))} (evidence)")
    publisher_id = getattr(body.target, "publisher_id", None)
    if (
        publisher_id is not None
        and session.scalar(select(publishers.c.id).where(publishers.c.id == publisher_id)) is None
    ):
        raise Invalid(f"no publisher {publisher_id} (target)")


def _check_dates(body: DeterminationCreate, now: datetime) -> None:
    if body.review_at <= now:
        raise Invalid("review_at must be in the future")
    if body.expires_at is not None and body.expires_at <= now:
        raise Invalid("expires_at must be in the future")


def _target_columns(body: DeterminationCreate) -> dict[str, Any]:
    target = body.target
    value = {"app": "app_id", "pattern": "pattern", "signer": "sha256"}.get(target.kind)
    return {
        "target_kind": target.kind,
        "target_value": getattr(target, value) if value else None,
        "publisher_id": getattr(target, "publisher_id", None),
        "platform": getattr(target, "platform", None),
    }


def _apply(determination: Determination, body: DeterminationCreate) -> None:
    for name, value in _target_columns(body).items():
        setattr(determination, name, value)
    for name in (
        "title", "action", "scope", "authority", "instrument", "rationale",
        "effective_at", "removal_deadline", "review_at", "expires_at",
    ):  # fmt: skip
        setattr(determination, name, getattr(body, name))
    determination.evidence_links = [
        DeterminationEvidence(assessment_id=i) for i in sorted(body.evidence)
    ]


def create(acting: Acting, body: DeterminationCreate) -> Determination:
    """A new draft, by a user who may propose."""
    acting.require(Permission.propose)
    now = acting.clock.now()
    _check_dates(body, now)
    _check_references(acting.session, body)
    principal = acting.principal
    determination = Determination(
        status=Status.draft.value,
        interim=False,
        created_by_id=principal.user_id,
        created_by=principal.actor,
        created_at=now,
        updated_at=now,
    )
    _apply(determination, body)
    acting.session.add(determination)
    acting.session.flush()
    record(
        acting, determination, "create", before=None, after=Status.draft,
        details={"decision": snapshot(determination)},
    )  # fmt: skip
    return determination


def as_create(determination: Determination) -> dict[str, Any]:
    """A determination's fields as a create body (to merge an update into)."""
    return {**snapshot(determination), "target": target_body(determination)}


def update(acting: Acting, determination_id: int, body: DeterminationUpdate) -> Determination:
    """Change a draft; every other status is refused (propose a new one instead)."""
    acting.require(Permission.propose)
    determination = get(acting.session, determination_id, lock=True)
    if determination.status != Status.draft:
        raise Conflict(
            f"only a draft can be edited; determination {determination_id} is "
            f"{determination.status}"
        )
    changes = body.model_dump(exclude_unset=True)
    try:
        merged = DeterminationCreate.model_validate({**as_create(determination), **changes})
    except ValidationError as error:
        raise Invalid("; ".join(e["msg"] for e in error.errors())) from None
    _check_dates(merged, acting.clock.now())
    _check_references(acting.session, merged)
    before = snapshot(determination)
    _apply(determination, merged)
    determination.updated_at = acting.clock.now()
    after = snapshot(determination)
    changed = {k: after[k] for k in after if after[k] != before[k]}
    record(
        acting, determination, "update", before=Status.draft, after=Status.draft,
        details={"changed": changed},
    )  # fmt: skip
    return determination


def target_body(determination: Determination) -> dict[str, Any]:
    kind, value = determination.target_kind, determination.target_value
    if kind == "publisher":
        return {"kind": kind, "publisher_id": determination.publisher_id}
    if kind == "signer":
        return {"kind": kind, "sha256": value}
    key = "app_id" if kind == "app" else "pattern"
    return {"kind": kind, key: value, "platform": determination.platform}


def snapshot(determination: Determination) -> dict[str, Any]:
    """The decision's content, JSON-able (for the audit log and edits)."""
    dates = ("effective_at", "removal_deadline", "review_at", "expires_at")
    return {
        "title": determination.title,
        "target": target_body(determination),
        "action": determination.action,
        "scope": list(determination.scope),
        "authority": determination.authority,
        "instrument": determination.instrument,
        "rationale": determination.rationale,
        "evidence": determination.evidence,
        **{d: (v.isoformat() if (v := getattr(determination, d)) else None) for d in dates},
    }


def record_reply(
    acting: Acting,
    determination_id: int,
    *,
    text: str,
    received_at: datetime,
    sender: str | None,
) -> Determination:
    """The vendor's reply to the notice, recorded once, to be considered before approval."""
    acting.require(Permission.propose)
    determination = get(acting.session, determination_id, lock=True)
    settle(acting, determination)
    now = acting.clock.now()
    status = Status(determination.status)
    sent = determination.notice_sent_at
    if sent is None or status not in (Status.notice, Status.in_force):
        raise Conflict(
            f"no notice is open for a reply: determination {determination_id} is "
            f"{status.value}{'' if sent else ' and no notice was sent'}"
        )
    if determination.reply_text is not None:
        raise Conflict(
            f"a reply was already recorded on {determination.reply_recorded_at:%Y-%m-%d}"
        )
    if received_at > now:
        raise Invalid("received_at is in the future")
    if received_at < sent:
        raise Invalid("received_at is before the notice was sent")
    determination.reply_text, determination.reply_from = text, sender
    determination.reply_received_at, determination.reply_recorded_at = received_at, now
    determination.reply_recorded_by = acting.principal.actor
    determination.updated_at = now
    late = determination.reply_deadline is not None and received_at > determination.reply_deadline
    record(
        acting, determination, "reply", before=status, after=status,
        details={"received_at": received_at.isoformat(), "late": late, "sender": sender},
    )  # fmt: skip
    return determination


def query(
    *,
    now: datetime,
    status: Status | None = None,
    action: str | None = None,
    target_kind: str | None = None,
) -> Select[Determination]:
    """Determinations, oldest first, filtered by effective status, action, target kind."""
    stmt = select(Determination).order_by(Determination.id)
    if status is not None:
        stmt = stmt.where(
            status_clause(Determination.status, Determination.expires_at, status, now)
        )
    if action is not None:
        stmt = stmt.where(Determination.action == action)
    if target_kind is not None:
        stmt = stmt.where(Determination.target_kind == target_kind)
    return stmt


def due_for_review(*, now: datetime, within_days: int) -> Select[Determination]:
    """In force, with a review date within ``within_days`` (or already past), soonest first."""
    horizon = now + timedelta(days=within_days)
    in_force = status_clause(Determination.status, Determination.expires_at, Status.in_force, now)
    return (
        select(Determination)
        .where(in_force, Determination.review_at <= horizon)
        .order_by(Determination.review_at, Determination.id)
    )


def in_force_now(session: Session, *, now: datetime) -> list[Determination]:
    """What applies now: in force, end date not passed, effective time reached."""
    rows = session.scalars(query(now=now, status=Status.in_force)).all()
    return [d for d in rows if applies_now(d, now)]


def publisher_family(session: Session, publisher_id: int) -> set[int]:
    """The publisher and its affiliates ("any app developed or provided by")."""
    from appwarden.catalog.service import family_ids  # the catalog's rule, read lazily

    return set(family_ids(session, publisher_id))


def publisher_names(session: Session, ids: set[int]) -> dict[int, str]:
    rows = session.execute(
        select(publishers.c.id, publishers.c.name).where(publishers.c.id.in_(ids))
    )
    return {int(row.id): str(row.name) for row in rows}
