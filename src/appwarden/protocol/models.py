"""Tables of the device protocol: nonces seen (replay protection), enrollment attempts
counted per client address and minute (rate limit). Both are kept in the database so the
checks hold across server processes; old rows are deleted as requests come in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from appwarden.db import Base


class DeviceNonce(Base):
    """A nonce a device signed a request with; the same one again within the window is a
    replay."""

    __tablename__ = "device_nonces"
    __table_args__ = (
        UniqueConstraint("device_id", "nonce"),
        Index("ix_device_nonces_device_id_seen_at", "device_id", "seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime]


class EnrollmentCount(Base):
    """How many calls of ``POST /v1/enroll`` (failed or not) came from a client address in
    one minute (``minute``: unix time // 60). One row per address and minute, counted up
    with an atomic upsert, so the limit costs a handful of rows, not one row per call."""

    __tablename__ = "enrollment_counts"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    attempts: Mapped[int]
