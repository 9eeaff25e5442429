"""A compliance report as the REST API returns it (``format=json``); the CSV and HTML
formats are drawn from the same document."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

#: Per device: how it stood at the determination's removal deadline (docs/reports.md).
DeviceDeadline = Literal["met", "missed", "not_counted", "after_deadline", "not_due", "none"]
#: Per determination: every counted device met the deadline, or not; or not yet due.
Deadline = Literal["met", "missed", "not_due", "none"]


class WaiverNote(BaseModel):
    """An approved waiver that covered the device at the report's date."""

    waiver_id: int
    reason: str
    expires_at: datetime
    mitigations: list[str]


class DeviceLine(BaseModel):
    device_id: str
    platform: str
    ownership: str
    department: str | None
    user_name: str | None
    source: str = Field(description="Who reports its state: agent, or another MDM's inventory.")
    status: str = Field(description="Its status at the report's date.")
    since: datetime = Field(description="When it took that status.")
    removed: bool = Field(
        description="Compliant after having held the target (non_compliant earlier, or the "
        "device reported removing it)."
    )
    removed_at: datetime | None
    deadline: DeviceDeadline
    status_at_deadline: str | None = Field(description="Its status at the removal deadline.")
    waivers: list[WaiverNote]


class DeadlineSummary(BaseModel):
    removal_deadline: datetime | None
    outcome: Deadline
    counted: int = Field(
        description="Devices judged against the deadline: in scope at it, neither exempt "
        "nor cannot_enforce."
    )
    met: int
    missed: int


class DeterminationReport(BaseModel):
    determination_id: int
    title: str
    action: str
    target_kind: str
    target_value: str | None
    platform: str | None
    scope: list[str]
    authority: str
    instrument: str
    effective_at: datetime | None
    removal_deadline: datetime | None
    in_scope: int = Field(description="Devices it applied to at the report's date.")
    counts: dict[str, int] = Field(description="Devices per status (every status listed).")
    removed: int
    exempt_waivers: int = Field(description="Distinct waivers covering exempt devices.")
    deadline: DeadlineSummary
    devices: list[DeviceLine]


class ComplianceReport(BaseModel):
    """Compliance as recorded at ``as_of``, replayed from the append-only history."""

    as_of: datetime
    generated_at: datetime
    determination_id: int | None = Field(description="The one determination, or null: all.")
    in_scope: int = Field(description="Device × determination pairs in scope.")
    counts: dict[str, int] = Field(description="Pairs per status, over every determination.")
    removed: int
    deadlines: dict[str, int] = Field(description="Determinations per deadline outcome.")
    determinations: list[DeterminationReport]
