"""Request and response bodies of the determinations API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from appwarden.api.ids import MAX_ID, BodyId
from appwarden.waivers.schemas import WaiverRead

Action = Literal["ban", "block", "allow", "monitor"]
Platform = Literal["android", "ios"]
GroupName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]

_APP_ID = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"
#: Dotted segments; ``*`` matches any run of characters (dots included); the first segment
#: is literal, so a pattern can never be "everything".
_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_*-]+)+$")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppTarget(_Body):
    kind: Literal["app"]
    app_id: str = Field(min_length=1, max_length=300, pattern=_APP_ID, examples=["com.tiktok"])
    platform: Platform | None = Field(default=None, description="Omit for both platforms.")


class PatternTarget(_Body):
    kind: Literal["pattern"]
    pattern: str = Field(
        min_length=3,
        max_length=300,
        examples=["com.kaspersky.*"],
        description="App ids; `*` matches any characters, dots included. "
        "The first segment is literal.",
    )
    platform: Platform | None = None

    @field_validator("pattern")
    @classmethod
    def _valid(cls, value: str) -> str:
        if not _PATTERN.fullmatch(value) or "*" not in value:
            raise ValueError(
                "a pattern is dotted app-id segments with at least one `*` after a literal "
                "first segment, e.g. com.kaspersky.*"
            )
        return value


class PublisherTarget(_Body):
    kind: Literal["publisher"]
    publisher_id: int = Field(
        ge=1,
        le=MAX_ID,
        description="Any app developed or provided by the publisher or its affiliates.",
    )


class SignerTarget(_Body):
    kind: Literal["signer"]
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="Signer certificate SHA-256.")

    @field_validator("sha256")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


Target = Annotated[
    AppTarget | PatternTarget | PublisherTarget | SignerTarget, Field(discriminator="kind")
]


class _Fields(_Body):
    """Fields shared by create and update; dates are timezone-aware (ISO 8601 with zone)."""

    @model_validator(mode="after")
    def _dates_in_order(self) -> _Fields:
        data = self.__dict__
        review, expires = data.get("review_at"), data.get("expires_at")
        effective, deadline = data.get("effective_at"), data.get("removal_deadline")
        if review and expires and expires < review:
            raise ValueError("expires_at must not be before review_at")
        if effective and expires and expires <= effective:
            raise ValueError("expires_at must be after effective_at")
        if effective and deadline and deadline < effective:
            raise ValueError("removal_deadline must not be before effective_at")
        if deadline and data.get("action") not in (None, "ban"):
            raise ValueError("removal_deadline applies to a ban only")
        return self


class DeterminationCreate(_Fields):
    title: str = Field(min_length=1, max_length=200)
    target: Target
    action: Action
    scope: list[GroupName] = Field(
        min_length=1, max_length=500, description='Device group names; "*" is every device.'
    )
    authority: str = Field(min_length=1, max_length=200, description="Who may decide.")
    instrument: str = Field(
        min_length=1, max_length=500, description="The instrument under which they decide."
    )
    rationale: str = Field(min_length=1, max_length=20000)
    evidence: list[BodyId] = Field(
        default_factory=list, max_length=100, description="Assessment ids."
    )
    effective_at: AwareDatetime | None = Field(default=None, description="Default: approval.")
    removal_deadline: AwareDatetime | None = Field(default=None, description="Bans only.")
    review_at: AwareDatetime
    expires_at: AwareDatetime | None = Field(default=None, description="End date; none: open.")

    @field_validator("scope", "evidence")
    @classmethod
    def _unique(cls, values: list[Any]) -> list[Any]:
        return list(dict.fromkeys(values))


class DeterminationUpdate(_Fields):
    """A draft's changes: only the fields sent are changed; null clears an optional date."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    target: Target | None = None
    action: Action | None = None
    scope: list[GroupName] | None = Field(default=None, min_length=1, max_length=500)
    authority: str | None = Field(default=None, min_length=1, max_length=200)
    instrument: str | None = Field(default=None, min_length=1, max_length=500)
    rationale: str | None = Field(default=None, min_length=1, max_length=20000)
    evidence: list[BodyId] | None = Field(default=None, max_length=100)
    effective_at: AwareDatetime | None = None
    removal_deadline: AwareDatetime | None = None
    review_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> DeterminationUpdate:
        optional = {"effective_at", "removal_deadline", "expires_at"}
        for name in self.model_fields_set - optional:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        return self


# --- transitions -------------------------------------------------------------------------


class TransitionBody(_Body):
    note: Note | None = Field(default=None, description="Kept in the timeline and audit log.")


class NoticeBody(TransitionBody):
    reply_deadline: AwareDatetime | None = Field(
        default=None, description="Default: now + APPWARDEN_REPLY_WINDOW_DAYS."
    )


class ApproveBody(TransitionBody):
    reply_considered: bool = Field(
        default=False, description="Required true when the vendor replied."
    )


class RenewBody(TransitionBody):
    review_at: AwareDatetime
    expires_at: AwareDatetime | None = Field(default=None, description="Default: unchanged.")


class ReplyCreate(_Body):
    text: str = Field(min_length=1, max_length=100_000)
    received_at: AwareDatetime
    sender: str | None = Field(default=None, min_length=1, max_length=200)


# --- responses ---------------------------------------------------------------------------


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    waiver_id: int | None
    note: str | None
    details: dict[str, Any] | None


class NoticeRead(BaseModel):
    sent_at: datetime
    sent_by: str
    reply_deadline: datetime
    reply_window_open: bool


class ReplyRead(BaseModel):
    text: str
    sender: str | None
    received_at: datetime
    recorded_by: str
    recorded_at: datetime
    late: bool = Field(description="Received after the reply deadline.")


class EvidenceRead(BaseModel):
    assessment_id: int
    platform: str | None
    app_id: str | None
    verdict: str | None
    score_total: int | None
    grade: str | None


class DeterminationRead(BaseModel):
    id: int
    title: str
    target: dict[str, Any]
    action: Action
    scope: list[str]
    authority: str
    instrument: str
    rationale: str
    evidence: list[int]
    effective_at: datetime | None
    removal_deadline: datetime | None
    review_at: datetime
    expires_at: datetime | None
    status: str = Field(description="The status that holds now (an end date passed: expired).")
    stored_status: str = Field(description="The status last recorded.")
    applies_now: bool
    interim: bool
    notice_due_at: datetime | None
    notice_overdue: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    proposed_by: str | None
    proposed_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    allowed_actions: list[str]
    notice: NoticeRead | None
    reply: ReplyRead | None


class DeterminationDetail(DeterminationRead):
    evidence_assessments: list[EvidenceRead]
    timeline: list[EventRead]
    waivers: list[WaiverRead]
