"""What a determination looks like to a reader: its effective status, notice, reply, waivers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.decisions.lifecycle import Status, lifecycle
from appwarden.decisions.models import Determination
from appwarden.decisions.schemas import (
    DeterminationDetail,
    DeterminationRead,
    EventRead,
    EvidenceRead,
    NoticeRead,
    ReplyRead,
)
from appwarden.decisions.service import (
    applies_now,
    assessments,
    current_status,
    publisher_family,
    publisher_names,
    target_body,
)
from appwarden.waivers.service import for_determination


def _target(session: Session, d: Determination) -> dict[str, Any]:
    body = target_body(d)
    if d.publisher_id is not None:
        family = publisher_family(session, d.publisher_id)
        names = publisher_names(session, family | {d.publisher_id})
        body["publisher"] = names.get(d.publisher_id)
        body["covers_publishers"] = [
            {"id": i, "name": names[i]} for i in sorted(family) if i in names
        ]
    return body


def _notice(d: Determination, now: datetime) -> NoticeRead | None:
    if d.notice_sent_at is None or d.reply_deadline is None or d.notice_sent_by is None:
        return None
    return NoticeRead(
        sent_at=d.notice_sent_at,
        sent_by=d.notice_sent_by,
        reply_deadline=d.reply_deadline,
        reply_window_open=now < d.reply_deadline,
    )


def _reply(d: Determination) -> ReplyRead | None:
    if d.reply_text is None or d.reply_received_at is None:
        return None
    return ReplyRead(
        text=d.reply_text,
        sender=d.reply_from,
        received_at=d.reply_received_at,
        recorded_by=d.reply_recorded_by or "",
        recorded_at=d.reply_recorded_at or d.reply_received_at,
        late=d.reply_deadline is not None and d.reply_received_at > d.reply_deadline,
    )


def read(session: Session, d: Determination, *, now: datetime) -> DeterminationRead:
    status = current_status(d, now)
    overdue = bool(
        d.interim and d.notice_sent_at is None and d.notice_due_at and d.notice_due_at <= now
    )
    return DeterminationRead(
        id=d.id,
        title=d.title,
        target=_target(session, d),
        action=d.action,  # type: ignore[arg-type]
        scope=list(d.scope),
        authority=d.authority,
        instrument=d.instrument,
        rationale=d.rationale,
        evidence=d.evidence,
        effective_at=d.effective_at,
        removal_deadline=d.removal_deadline,
        review_at=d.review_at,
        expires_at=d.expires_at,
        status=status.value,
        stored_status=d.status,
        applies_now=applies_now(d, now),
        interim=d.interim,
        notice_due_at=d.notice_due_at,
        notice_overdue=overdue and status is Status.in_force,
        created_by=d.created_by,
        created_at=d.created_at,
        updated_at=d.updated_at,
        proposed_by=d.proposed_by,
        proposed_at=d.proposed_at,
        decided_by=d.decided_by,
        decided_at=d.decided_at,
        allowed_actions=lifecycle().allowed_from(status),
        notice=_notice(d, now),
        reply=_reply(d),
    )


def _evidence(session: Session, d: Determination) -> list[EvidenceRead]:
    rows = session.execute(
        select(
            assessments.c.id,
            assessments.c.verdict,
            assessments.c.score_total,
            assessments.c.grade,
            assessments.c.document,
        )
        .where(assessments.c.id.in_(d.evidence))
        .order_by(assessments.c.id)
    )
    found = []
    for row in rows:
        app = (row.document or {}).get("app") or {} if isinstance(row.document, dict) else {}
        found.append(
            EvidenceRead(
                assessment_id=row.id,
                platform=app.get("platform"),
                app_id=app.get("id"),
                verdict=row.verdict,
                score_total=row.score_total,
                grade=row.grade,
            )
        )
    return found


def detail(session: Session, d: Determination, *, now: datetime) -> DeterminationDetail:
    """Everything about one determination: for the approver's one screen."""
    return DeterminationDetail(
        **read(session, d, now=now).model_dump(),
        evidence_assessments=_evidence(session, d),
        timeline=[EventRead.model_validate(e) for e in d.events],
        waivers=for_determination(session, d, now=now),
    )
