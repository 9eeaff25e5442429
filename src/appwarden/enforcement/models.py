"""Tables of policy distribution: compiled documents (shared by content hash), the version
each device was issued (current and history), the outbox of policy-relevant changes and
the generation counter that wakes long-polls in other server processes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from appwarden.db import Base


class PolicyDocument(Base):
    """A compiled policy document, stored once per content hash: devices whose inputs are
    equal share it."""

    __tablename__ = "policy_documents"

    etag: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class DevicePolicyVersion(Base):
    """The version (only grows; first is 1) and content hash of a device's current policy.

    ``seq`` is the policy generation in which the row last changed (long-polls in every
    process ask "which devices changed after generation N"); ``next_change_at`` is when
    the clock alone next changes the compiled result (a rule or waiver starts or lapses).
    """

    __tablename__ = "device_policies"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int]
    etag: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime]
    seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", index=True)
    next_change_at: Mapped[datetime | None] = mapped_column(index=True)


class DevicePolicyIssue(Base):
    """Every version ever issued to a device, with its content hash: what a state report's
    ``applied_version`` is checked against."""

    __tablename__ = "device_policy_history"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(primary_key=True)
    etag: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime]


class PolicyChange(Base):
    """A change that may alter some devices' policies, written in the same transaction as
    the change itself (an outbox): a crash after the commit loses no recompilation.

    ``kind`` says what changed (``determination``, ``waiver``, ``group``, ``device``,
    ``catalog``) and ``ref`` which one.
    """

    __tablename__ = "policy_changes"
    __table_args__ = (Index("ix_policy_changes_processed_at_id", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class PolicyGeneration(Base):
    """One row: grows each time any device's policy changes. On SQLite, server processes
    read it every ~100 ms to notice changes made by another process."""

    __tablename__ = "policy_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
