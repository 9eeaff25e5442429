"""Response bodies of the inventories API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from appwarden.compliance.devices import Verdict
from appwarden.inventories.models import InventoryPull
from appwarden.inventories.pull.sources import Source
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


class PullRecord(BaseModel):
    """One pull of a configured source and its outcome."""

    id: str
    source: str
    kind: str
    requested_by: str = Field(description="The user, or schedule:NAME for a scheduled pull.")
    started_at: datetime
    finished_at: datetime | None
    status: Literal["running", "ok", "failed"]
    calls: int = Field(description="HTTP calls made to the MDM's API.")
    devices: int = Field(
        description="Devices imported (new and updated); for apple-mdm, devices asked for "
        "their apps (commands enqueued: the answers arrive through the webhook)."
    )
    created: int = Field(description="Devices new to AppWarden.")
    skipped: int = Field(description="Devices skipped (not phones, deleted, retired).")
    sha256: str | None = Field(description="SHA-256 of the document imported.")
    error: str | None = Field(description="Why a failed pull imported nothing.")

    @classmethod
    def of(cls, pull: InventoryPull) -> PullRecord:
        return cls.model_validate(pull, from_attributes=True)


class SourceStatus(BaseModel):
    """A configured source (never its secrets) and its last pull."""

    name: str
    kind: str
    every_minutes: int = Field(description="0: pulled only on demand.")
    group: str | None
    last_pull: PullRecord | None

    @classmethod
    def of(cls, source: Source, pull: InventoryPull | None) -> SourceStatus:
        return cls(
            name=source.name,
            kind=source.kind,
            every_minutes=source.every_minutes,
            group=source.group,
            last_pull=PullRecord.of(pull) if pull is not None else None,
        )


class WebhookOutcome(BaseModel):
    """What an Apple MDM server's webhook event did: an inventory imported, or the event
    ignored (another topic, another command's answer, a command not acknowledged)."""

    imported: bool
    reason: str = Field(description="Why the event was ignored, or what was imported.")
    device_id: str | None = None
    created: bool | None = Field(default=None, description="False: a known device, updated.")
    compliance: Verdict | None = None
