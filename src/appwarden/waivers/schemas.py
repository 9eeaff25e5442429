"""Request and response bodies of the waivers API, and a waiver's state at a moment."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from appwarden.waivers.models import Waiver

Reason = Literal[
    "law_enforcement", "national_security", "security_research", "official_communications"
]
State = Literal["requested", "active", "expired", "revoked"]
#: A device or user, by name: never a wildcard, so a waiver cannot grow into a blanket one.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^*?]+$"),
]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Mitigation = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class WaiverCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: list[Name] = Field(default_factory=list, max_length=1000)
    users: list[Name] = Field(default_factory=list, max_length=1000)
    reason: Reason
    justification: str = Field(min_length=1, max_length=20000)
    mitigations: list[Mitigation] = Field(
        min_length=1, max_length=50, description="What the holders must do meanwhile."
    )
    expires_at: AwareDatetime = Field(description="At most APPWARDEN_WAIVER_MAX_DAYS ahead.")

    @model_validator(mode="after")
    def _named(self) -> WaiverCreate:
        if not self.devices and not self.users:
            raise ValueError(
                "a waiver names devices or users; it never covers a determination's whole scope"
            )
        self.devices = list(dict.fromkeys(self.devices))
        self.users = list(dict.fromkeys(self.users))
        return self


class WaiverDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note | None = None


class WaiverRevoke(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note = Field(description="Why it is revoked.")


def effective_state(waiver: Waiver, now: datetime) -> State:
    """What the waiver is now: it stops applying by itself at its expiry."""
    if waiver.state == "revoked":
        return "revoked"
    if waiver.expires_at <= now:
        return "expired"
    return "active" if waiver.state == "approved" else "requested"


class WaiverRead(BaseModel):
    id: int
    determination_id: int
    devices: list[str]
    users: list[str]
    reason: Reason
    justification: str
    mitigations: list[str]
    expires_at: datetime
    state: State = Field(description="The state now (past its expiry: expired).")
    stored_state: str
    applies_now: bool = Field(description="Active, and its determination applies now.")
    requested_by: str
    requested_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    revoked_by: str | None
    revoked_at: datetime | None
    revoke_note: str | None

    @classmethod
    def of(cls, waiver: Waiver, *, now: datetime, determination_applies: bool) -> WaiverRead:
        state = effective_state(waiver, now)
        return cls(
            id=waiver.id,
            determination_id=waiver.determination_id,
            devices=list(waiver.devices),
            users=list(waiver.users),
            reason=waiver.reason,  # type: ignore[arg-type]
            justification=waiver.justification,
            mitigations=list(waiver.mitigations),
            expires_at=waiver.expires_at,
            state=state,
            stored_state=waiver.state,
            applies_now=state == "active" and determination_applies,
            requested_by=waiver.requested_by,
            requested_at=waiver.requested_at,
            approved_by=waiver.approved_by,
            approved_at=waiver.approved_at,
            revoked_by=waiver.revoked_by,
            revoked_at=waiver.revoked_at,
            revoke_note=waiver.revoke_note,
        )
