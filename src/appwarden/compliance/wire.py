"""Bodies devices send and get (``POST /v1/state``, ``POST /v1/install-check``; examples
in docs/protocol.md are checked against them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

#: The largest state report accepted, in bytes (413 beyond, before parsing).
MAX_REPORT_BYTES = 1024 * 1024
MAX_APPS = 10_000
MAX_EVENTS = 1_000

AppId = Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[A-Za-z0-9._\-]+$")]
SignerHash = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]
Hash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class InstalledAppIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_id: AppId
    signer: SignerHash | None = Field(
        default=None, description="SHA-256 of the signing certificate, hex; null if unknown."
    )


def _unique(apps: list[InstalledAppIn], what: str) -> None:
    ids = [a.app_id for a in apps]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{what}: an app id is listed twice")


class FullInventory(BaseModel):
    """Every app installed (system apps aside)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["full"]
    apps: list[InstalledAppIn] = Field(max_length=MAX_APPS)

    @model_validator(mode="after")
    def _check(self) -> FullInventory:
        _unique(self.apps, "apps")
        return self


class DeltaInventory(BaseModel):
    """Changes against the inventory whose hash is ``base`` (the last one the server
    acknowledged)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["delta"]
    base: Hash
    added: list[InstalledAppIn] = Field(default_factory=list, max_length=MAX_APPS)
    removed: list[AppId] = Field(default_factory=list, max_length=MAX_APPS)

    @model_validator(mode="after")
    def _check(self) -> DeltaInventory:
        _unique(self.added, "added")
        if len(self.removed) != len(set(self.removed)):
            raise ValueError("removed: an app id is listed twice")
        if {a.app_id for a in self.added} & set(self.removed):
            raise ValueError("an app id is both added and removed")
        return self


class DeviceEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["removed", "install_blocked", "user_notified"]
    app_id: AppId
    rule: int | None = Field(default=None, ge=1, description="The determination id, if any.")
    at: AwareDatetime


class StateReport(BaseModel):
    """``POST /v1/state``: what the device has applied and holds."""

    model_config = ConfigDict(extra="forbid")

    report_id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{8,64}$", description="Idempotency key, per device."
    )
    applied_version: int = Field(ge=0, description="The policy version the device applied.")
    inventory: FullInventory | DeltaInventory | None = Field(
        default=None, discriminator="kind", description="null: unchanged since the last report."
    )
    events: list[DeviceEventIn] = Field(default_factory=list, max_length=MAX_EVENTS)


class StateAccepted(BaseModel):
    """The report was recorded (or had been: a retry gets the same body)."""

    model_config = ConfigDict(extra="forbid")

    report_id: str
    inventory_hash: Hash | None = Field(
        description="Hash of the inventory the server now holds (the base of the next delta);"
        " null until a full inventory was sent."
    )
    policy_version: int = Field(ge=1, description="The device's current policy version.")


class InstallCheck(BaseModel):
    """``POST /v1/install-check``: may this app be installed?"""

    model_config = ConfigDict(extra="forbid")

    app_id: AppId
    signer: SignerHash | None = None


class InstallDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed: bool
    rule: int | None = Field(description="The determination that decides, if any.")
    action: Literal["ban", "block", "allow"] | None
    message: str | None = Field(description="What to tell the user, if anything.")
