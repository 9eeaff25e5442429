"""Table: the policy version and ETag last issued to each device."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from appwarden.db import Base


class DevicePolicyVersion(Base):
    """The version (only grows; first is 1) and content hash of a device's current policy."""

    __tablename__ = "device_policies"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int]
    etag: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime]
