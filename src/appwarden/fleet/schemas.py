"""Request and response bodies of the fleet API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from appwarden.api.ids import BodyId

Platform = Literal["android", "ios"]
Ownership = Literal["corporate", "byod", "contractor"]
DeviceState = Literal["active", "retired", "lost"]
Department = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
GroupName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupRule(_Body):
    """Attribute conditions; a device matches when it meets every condition given. A list
    condition is met by any of its values."""

    platform: list[Platform] | None = Field(default=None, min_length=1)
    ownership: list[Ownership] | None = Field(default=None, min_length=1)
    department: list[Department] | None = Field(
        default=None, min_length=1, max_length=100, description="Compared without case."
    )
    supervised: bool | None = None

    @model_validator(mode="after")
    def _some_condition(self) -> GroupRule:
        if not self.model_dump(exclude_none=True):
            raise ValueError("a rule needs at least one condition (or send null for none)")
        return self

    def stored(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class GroupCreate(_Body):
    name: GroupName = Field(description='A unique name; "*" is reserved for every device.')
    description: str = Field(default="", max_length=2000)
    rule: GroupRule | None = None


class GroupUpdate(_Body):
    name: GroupName | None = None
    description: str | None = Field(default=None, max_length=2000)
    rule: GroupRule | None = Field(default=None, description="null removes the rule.")


class GroupRead(BaseModel):
    id: int
    name: str
    description: str
    rule: dict[str, Any] | None
    static_members: int = Field(description="Devices added by hand.")
    created_at: datetime
    updated_at: datetime


class MemberAdd(_Body):
    device_id: str = Field(min_length=1, max_length=32)


class DeviceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    platform: Platform
    ownership: Ownership
    department: str | None
    user_name: str | None
    supervised: bool
    state: DeviceState
    has_key: bool = Field(description="False once the key was revoked.")
    enrolled_at: datetime
    last_seen_at: datetime | None
    source: str


class DeviceDetail(DeviceRead):
    public_key: str | None = Field(description="Ed25519 public key, raw 32 bytes in base64.")
    groups: list[str] = Field(description="Static memberships and rule matches, by name.")
    static_groups: list[str]


MAX_TOKEN_USES = 1_000_000


class EnrollmentTokenCreate(_Body):
    group_id: BodyId
    expires_in_hours: int = Field(default=72, ge=1, le=24 * 90)
    #: One token may enroll a whole fleet: up to a million devices, and the retries whose
    #: answer was lost after the server had counted them.
    max_uses: int = Field(default=1, ge=1, le=MAX_TOKEN_USES)


class EnrollmentTokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_id: int
    created_by: str
    created_at: datetime
    expires_at: datetime
    max_uses: int
    uses: int
    revoked_at: datetime | None = Field(description="When it was revoked; null while it is not.")


class EnrollmentTokenIssued(EnrollmentTokenRead):
    token: str | None = Field(
        description="The token, shown once; null on an Idempotency-Key replay (never stored)."
    )
