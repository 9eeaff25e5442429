"""Response bodies of the inventories API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from appwarden.compliance.devices import Verdict
from appwarden.inventories.service import Result


class ImportedDevice(BaseModel):
    device_id: str
    external_id: str = Field(description="The MDM's own id of the device.")
    name: str | None
    created: bool = Field(description="False: a device imported before, updated.")
    taken_at: datetime = Field(description="When the MDM took this inventory.")
    apps: int = Field(description="Apps recorded as installed.")
    unresolved: list[str] = Field(description="App names that matched no app id (Intune).")
    compliance: Verdict


class SkippedDevice(BaseModel):
    external_id: str
    reason: str


class InventoryImported(BaseModel):
    """What one import did."""

    kind: str
    sha256: str = Field(description="SHA-256 of the file, as audited.")
    imported_at: datetime
    devices: list[ImportedDevice]
    skipped: list[SkippedDevice] = Field(description="Devices left out: not phones, retired…")

    @classmethod
    def of(cls, result: Result) -> InventoryImported:
        return cls(
            kind=result.kind,
            sha256=result.sha256,
            imported_at=result.imported_at,
            devices=[
                ImportedDevice(
                    device_id=d.device_id,
                    external_id=d.external_id,
                    name=d.name,
                    created=d.created,
                    taken_at=d.taken_at,
                    apps=d.apps,
                    unresolved=list(d.unresolved),
                    compliance=d.compliance,
                )
                for d in result.devices
            ],
            skipped=[
                SkippedDevice(external_id=s.external_id, reason=s.reason) for s in result.skipped
            ],
        )
