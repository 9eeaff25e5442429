"""Bodies of the device protocol v1 (examples in docs/protocol.md are checked against them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class EnrollRequest(BaseModel):
    """Redeem an enrollment token with the device's Ed25519 public key."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200, description="The enrollment token.")
    platform: Literal["android", "ios"]
    ownership: Literal["corporate", "byod", "contractor"]
    department: str | None = Field(default=None, max_length=200)
    user_name: str | None = Field(default=None, max_length=200)
    supervised: bool = False
    public_key: str = Field(
        min_length=1, max_length=100, description="Raw 32-byte Ed25519 public key, base64."
    )


class EnrollResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: str


class DeviceRecord(BaseModel):
    """The device's own record, as the server holds it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    platform: Literal["android", "ios"]
    ownership: Literal["corporate", "byod", "contractor"]
    state: Literal["active", "lost"]
    groups: list[str] = Field(description="Group names: static memberships and rule matches.")


class PolicyResponse(BaseModel):
    """The device's policy: the compiled document, its content hash and its version."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="Grows by one each time this device's policy changes.")
    etag: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the canonical JSON of `policy`."
    )
    policy: dict[str, Any] = Field(
        description="The compiled document (see docs/policy.md); equal inputs, equal document."
    )


# The reporting routes' bodies live with the compliance service that reads them; exported
# here too, so a device maker finds every protocol body in one module.
from appwarden.compliance.wire import (  # noqa: E402
    DeltaInventory,
    DeviceEventIn,
    FullInventory,
    InstallCheck,
    InstallDecision,
    InstalledAppIn,
    StateAccepted,
    StateReport,
)

__all__ = [
    "DeltaInventory",
    "DeviceEventIn",
    "DeviceRecord",
    "EnrollRequest",
    "EnrollResponse",
    "FullInventory",
    "InstallCheck",
    "InstallDecision",
    "InstalledAppIn",
    "PolicyResponse",
    "StateAccepted",
    "StateReport",
]
