"""Tables of device state and compliance.

What devices report (``POST /v1/state``): the latest state per device, its installed apps,
the events it sent (append-only) and every report id (idempotency). What the server
concludes: each device's status per determination now, the append-only history of status
changes, each device's overall verdict, and the outbox of compliance webhooks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from appwarden.db import Base

STATUSES = ("compliant", "non_compliant", "pending", "exempt", "unreachable", "cannot_enforce")
#: Written to the history (only) when a determination stops applying to a device.
NOT_APPLICABLE = "not_applicable"


class DeviceState(Base):
    """The latest state a device reported: the policy version it applied and the content
    hash of its installed apps (null until it sent a full inventory)."""

    __tablename__ = "device_states"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    applied_version: Mapped[int]
    inventory_hash: Mapped[str | None] = mapped_column(String(64))
    report_id: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime] = mapped_column(index=True)


class InstalledApp(Base):
    """One app installed on a device, as last reported (with its signer's SHA-256)."""

    __tablename__ = "device_apps"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    app_id: Mapped[str] = mapped_column(String(300), primary_key=True, index=True)
    signer: Mapped[str | None] = mapped_column(String(64))


class DeviceEvent(Base):
    """Something a device did and reported (removed an app, refused an install, notified
    its user). Append-only; ``at`` is the device's time, ``received_at`` the server's."""

    __tablename__ = "device_events"
    __table_args__ = (Index("ix_device_events_device_id_id", "device_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    report_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    app_id: Mapped[str] = mapped_column(String(300))
    rule: Mapped[int | None]
    at: Mapped[datetime]
    received_at: Mapped[datetime]


class DeviceReport(Base):
    """A state report accepted once: a retry with the same id gets ``response`` again.
    Kept for :data:`appwarden.compliance.service.REPORT_IDS_KEPT`."""

    __tablename__ = "device_reports"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    report_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(index=True)


class DeviceCompliance(Base):
    """A device's overall verdict, and the policy version it was last evaluated against."""

    __tablename__ = "device_compliance"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    policy_version: Mapped[int | None]
    compliant: Mapped[bool]
    unreachable: Mapped[bool] = mapped_column(index=True)
    evaluated_at: Mapped[datetime]


class ComplianceStatus(Base):
    """A device's status for one determination now, ``since`` when it has held.

    ``applies_since`` is when the determination first applied to the device (a report older
    than that, or than its effective time, proves nothing: pending); ``present`` whether
    the device last reported the target installed (null: unknown)."""

    __tablename__ = "compliance_status"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    determination_id: Mapped[int] = mapped_column(
        ForeignKey("determinations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime]
    applies_since: Mapped[datetime]
    present: Mapped[bool | None]


class ComplianceHistory(Base):
    """Append-only: a row each time a device's status for a determination changes."""

    __tablename__ = "compliance_history"
    __table_args__ = (
        Index("ix_compliance_history_determination_id_at", "determination_id", "at"),
        Index("ix_compliance_history_device_id_at", "device_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    determination_id: Mapped[int] = mapped_column(
        ForeignKey("determinations.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class ComplianceWebhook(Base):
    """Outbox: a change of a device's overall compliance, to POST after the commit.

    Delivered at least once: a failed delivery stays, with its next attempt time."""

    __tablename__ = "compliance_webhooks"
    __table_args__ = (
        Index(
            "ix_compliance_webhooks_delivered_at_next_attempt_at", "delivered_at", "next_attempt_at"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
