"""Table: waivers, exceptions to one determination for named devices or users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from appwarden.db import Base

REASONS = (
    "law_enforcement",
    "national_security",
    "security_research",
    "official_communications",
)
STATES = ("requested", "approved", "revoked")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Waiver(Base):
    """An exception to one determination, never blanket: named devices and/or users only.

    ``state`` is what people did (requested, approved, revoked); whether it applies now
    also depends on the clock (see :func:`appwarden.waivers.service.effective_state`).
    """

    __tablename__ = "waivers"
    __table_args__ = (
        CheckConstraint(_one_of("reason", REASONS), name="reason"),
        CheckConstraint(_one_of("state", STATES), name="state"),
        Index("ix_waivers_state_expires_at", "state", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    determination_id: Mapped[int] = mapped_column(
        ForeignKey("determinations.id", ondelete="CASCADE"), index=True
    )
    devices: Mapped[list[str]] = mapped_column(JSON)
    users: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(32))
    justification: Mapped[str] = mapped_column(Text)
    mitigations: Mapped[list[str]] = mapped_column(JSON)
    expires_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="requested")

    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]
    revoke_note: Mapped[str | None] = mapped_column(Text)
