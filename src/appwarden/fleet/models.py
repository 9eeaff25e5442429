"""Tables: devices, device groups and their static members, enrollment tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from appwarden.db import Base

#: Devices put into a group by hand (rule matches are computed, never stored).
device_group_members = Table(
    "device_group_members",
    Base.metadata,
    Column("group_id", ForeignKey("device_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("device_id", ForeignKey("devices.id"), primary_key=True, index=True),
)


class Device(Base):
    """A managed phone. ``public_key`` is its Ed25519 key (raw 32 bytes, base64); null
    once revoked, until the device enrolls again with a new token."""

    __tablename__ = "devices"
    __table_args__ = (
        CheckConstraint("platform IN ('android', 'ios')", name="platform"),
        CheckConstraint("ownership IN ('corporate', 'byod', 'contractor')", name="ownership"),
        CheckConstraint("state IN ('active', 'retired', 'lost')", name="state"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    platform: Mapped[str] = mapped_column(String(8), index=True)
    ownership: Mapped[str] = mapped_column(String(16), index=True)
    department: Mapped[str | None] = mapped_column(String(200), index=True)
    user_name: Mapped[str | None] = mapped_column(String(200), index=True)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="active", index=True)
    public_key: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The token it enrolled with (null for devices made otherwise, or once the token is
    #: deleted): an enrollment sent again with the same key and token is answered with
    #: this device rather than making a second one.
    enrollment_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollment_tokens.id", ondelete="SET NULL"), index=True
    )
    enrolled_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(32), default="agent")


class DeviceGroup(Base):
    """A named set of devices: static members plus, if ``rule`` is set, every device whose
    attributes match all of its conditions. Determinations name groups in their scope."""

    __tablename__ = "device_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EnrollmentToken(Base):
    """A one-group, expiring, limited-use enrollment token, stored as its SHA-256."""

    __tablename__ = "enrollment_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("device_groups.id", ondelete="CASCADE"), index=True
    )
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    max_uses: Mapped[int]
    uses: Mapped[int] = mapped_column(default=0)
    #: Set once the token is revoked: it enrolls nothing more (devices already enrolled stay).
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
