"""Table: which MDM device each imported device is, and when its inventory was taken."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from appwarden.db import Base


class DeviceInventory(Base):
    """An imported device: its MDM (``source``) and that MDM's own id for it (re-imports
    update the same device), when the MDM took the inventory last imported and when and
    by whom it was imported, and the app names that matched no app id."""

    __tablename__ = "device_inventories"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(300))
    name: Mapped[str | None] = mapped_column(String(200))
    taken_at: Mapped[datetime]
    imported_at: Mapped[datetime]
    imported_by: Mapped[str] = mapped_column(String(64))
    unresolved: Mapped[list[str]] = mapped_column(JSON, default=list)
