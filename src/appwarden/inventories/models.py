"""Table: which MDM device each imported device is, and when its inventory was taken."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text, UniqueConstraint
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


class InventoryPull(Base):
    """One pull of a configured source (docs/inventories.md): who or what asked, when it
    started and ended, and its outcome — the import's counts, or the error that left
    everything as it was. A scheduled pull holds its ``slot`` (the period's number): the
    unique pair lets one server process of many take each period's pull."""

    __tablename__ = "inventory_pulls"
    __table_args__ = (UniqueConstraint("source", "slot"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    slot: Mapped[int | None] = mapped_column(BigInteger)
    requested_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    calls: Mapped[int] = mapped_column(default=0)
    devices: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
