"""Tables of the device protocol: nonces seen (replay protection), enrollment attempts
(rate limit per client address). Both are kept in the database so the checks hold across
server processes; old rows are deleted as requests come in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
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


class EnrollmentAttempt(Base):
    """One call of ``POST /v1/enroll`` from a client address, failed or not."""

    __tablename__ = "enrollment_attempts"
    __table_args__ = (Index("ix_enrollment_attempts_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
