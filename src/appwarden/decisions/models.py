"""Tables: determinations, the assessments they cite, and their timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from appwarden.db import Base

TARGET_KINDS = ("app", "pattern", "publisher", "signer")
ACTIONS = ("ban", "block", "allow", "monitor")
STATUSES = ("draft", "proposed", "notice", "in_force", "rejected", "rescinded", "expired")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Determination(Base):
    """A decision about an app, a pattern of app ids, a publisher or a signer certificate."""

    __tablename__ = "determinations"
    __table_args__ = (
        CheckConstraint(_one_of("target_kind", TARGET_KINDS), name="target_kind"),
        CheckConstraint(_one_of("action", ACTIONS), name="action"),
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        CheckConstraint(
            "(target_kind = 'publisher' AND publisher_id IS NOT NULL AND target_value IS NULL)"
            " OR (target_kind <> 'publisher' AND publisher_id IS NULL"
            " AND target_value IS NOT NULL)",
            name="target",
        ),
        Index("ix_determinations_status_expires_at", "status", "expires_at"),
        Index("ix_determinations_review_at", "review_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    target_kind: Mapped[str] = mapped_column(String(16))
    #: The app id, the pattern or the signer certificate's SHA-256; NULL for a publisher.
    target_value: Mapped[str | None] = mapped_column(String(300))
    publisher_id: Mapped[int | None] = mapped_column(ForeignKey("publishers.id"), index=True)
    #: android or ios; NULL for both (app and pattern targets).
    platform: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    #: Device group names; "*" is every managed device.
    scope: Mapped[list[str]] = mapped_column(JSON)
    authority: Mapped[str] = mapped_column(String(200))
    instrument: Mapped[str] = mapped_column(String(500))
    rationale: Mapped[str] = mapped_column(Text)
    effective_at: Mapped[datetime | None]
    removal_deadline: Mapped[datetime | None]
    review_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]

    status: Mapped[str] = mapped_column(String(16), default="draft")
    interim: Mapped[bool] = mapped_column(default=False)
    notice_due_at: Mapped[datetime | None]

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_by: Mapped[str | None] = mapped_column(String(64))
    proposed_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]

    notice_sent_at: Mapped[datetime | None]
    notice_sent_by: Mapped[str | None] = mapped_column(String(64))
    reply_deadline: Mapped[datetime | None]
    #: The notice as sent (Markdown and HTML), frozen: what the vendor was shown.
    notice_markdown: Mapped[str | None] = mapped_column(Text)
    notice_html: Mapped[str | None] = mapped_column(Text)

    reply_text: Mapped[str | None] = mapped_column(Text)
    reply_from: Mapped[str | None] = mapped_column(String(200))
    reply_received_at: Mapped[datetime | None]
    reply_recorded_by: Mapped[str | None] = mapped_column(String(64))
    reply_recorded_at: Mapped[datetime | None]

    evidence_links: Mapped[list[DeterminationEvidence]] = relationship(
        cascade="all, delete-orphan", order_by="DeterminationEvidence.assessment_id"
    )
    events: Mapped[list[DeterminationEvent]] = relationship(
        cascade="all, delete-orphan", order_by="DeterminationEvent.id"
    )

    @property
    def evidence(self) -> list[int]:
        return [link.assessment_id for link in self.evidence_links]


class DeterminationEvidence(Base):
    """An assessment cited as evidence for a determination."""

    __tablename__ = "determination_evidence"

    determination_id: Mapped[int] = mapped_column(
        ForeignKey("determinations.id", ondelete="CASCADE"), primary_key=True
    )
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id"), primary_key=True, index=True
    )


class DeterminationEvent(Base):
    """One entry of a determination's timeline: a transition, an edit, a reply, a waiver."""

    __tablename__ = "determination_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    determination_id: Mapped[int] = mapped_column(
        ForeignKey("determinations.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    waiver_id: Mapped[int | None] = mapped_column(ForeignKey("waivers.id"))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
