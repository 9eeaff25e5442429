"""Compliance as the REST API returns it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Straggler(BaseModel):
    device_id: str
    status: str
    since: datetime
    overdue: bool = Field(description="Past the determination's removal deadline.")


class TimeToCompliance(BaseModel):
    """Seconds from the determination's effective time until 50/90/99/100 % of the devices
    it applies to (exempt and cannot_enforce aside) were first compliant; null if not yet."""

    devices: int
    compliant: int
    t50_s: float | None
    t90_s: float | None
    t99_s: float | None
    t100_s: float | None


class DeterminationCompliance(BaseModel):
    determination_id: int
    as_of: datetime
    effective_at: datetime | None
    removal_deadline: datetime | None
    devices: int
    counts: dict[str, int] = Field(description="Devices per status (every status listed).")
    time_to_compliance: TimeToCompliance
    stragglers: list[Straggler] = Field(description="Longest not compliant first (20 at most).")


class HistoryEntry(BaseModel):
    id: int
    device_id: str
    determination_id: int
    status: str
    at: datetime


class HistoryPage(BaseModel):
    items: list[HistoryEntry]
    next_after: int | None = Field(description="Pass as `after` for the next page.")


class DeviceDeterminationStatus(BaseModel):
    determination_id: int
    title: str
    action: str
    status: str
    since: datetime
    present: bool | None = Field(description="Whether the target was last seen installed.")


class DeviceCompliance(BaseModel):
    """One device's verdict: what an identity provider asks before granting access."""

    device_id: str
    compliant: bool = Field(
        description="Every determination compliant or exempt (or not enforceable on the "
        "device and its target not seen); false if never judged."
    )
    state: str
    source: str = Field(description="agent, or the MDM whose inventory was imported.")
    evaluated_at: datetime | None
    last_report_at: datetime | None = Field(
        description="Its last report; for an imported device, when its MDM took the inventory."
    )
    policy_version: int | None
    applied_version: int | None
    determinations: list[DeviceDeterminationStatus]


class ImpactBucket(BaseModel):
    name: str
    in_scope: int
    holding: int


class Impact(BaseModel):
    """Devices in the determination's scope that hold its target now (last inventory)."""

    determination_id: int
    in_scope: int
    reported: int = Field(description="Devices in scope that sent an inventory.")
    holding: int
    by_group: list[ImpactBucket]
    by_department: list[ImpactBucket]


class ReportedApp(BaseModel):
    app_id: str
    signer: str | None = Field(description="The signer certificate's SHA-256, if reported.")


class ReportReceived(BaseModel):
    report_id: str
    received_at: datetime


class ReportedEvent(BaseModel):
    kind: str
    app_id: str
    at: datetime = Field(description="The device's time.")
    received_at: datetime


class ImportedInventory(BaseModel):
    """Where an imported device's inventory came from, and how old it is."""

    source: str = Field(description="intune, amapi or apple-mdm.")
    external_id: str = Field(description="The MDM's own id of the device.")
    name: str | None
    taken_at: datetime = Field(description="When the MDM took the inventory last imported.")
    imported_at: datetime
    imported_by: str
    unresolved_apps: list[str] = Field(description="App names that matched no app id.")


class DeviceReported(BaseModel):
    """What a device last reported, and the policy version it was last issued."""

    device_id: str
    source: str = Field(description="agent, or the MDM whose inventory was imported.")
    inventory: ImportedInventory | None = Field(
        default=None, description="For a device imported from another MDM's inventory."
    )
    issued_version: int | None = Field(description="The latest version issued to it.")
    issued_at: datetime | None
    applied_version: int | None = Field(description="The version it last said it applied.")
    reported_at: datetime | None
    inventory_reported: bool = Field(description="False until it sent a full inventory.")
    installed_apps: list[ReportedApp] = Field(description="From its last full inventory.")
    reports: list[ReportReceived] = Field(description="Its latest accepted reports (20).")
    events: list[ReportedEvent] = Field(description="Its latest events, newest first (50).")


class TrendPoint(BaseModel):
    at: datetime
    devices: int = Field(description="Devices counted (exempt and cannot_enforce aside).")
    compliant: int
    percent: float | None = Field(description="Share compliant, 0-100; null with no device.")


class ComplianceTrend(BaseModel):
    """The share compliant after each change, from the history (60 points at most: the
    last of each equal slice of time), ending now."""

    determination_id: int
    effective_at: datetime | None
    points: list[TrendPoint]
