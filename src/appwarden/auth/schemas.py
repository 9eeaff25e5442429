"""Request and response bodies of the users and tokens API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from appwarden.auth.roles import Role


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, pattern=r"^\d{6}$", description="Approvers, admins.")
    token_name: str = Field(default="api", min_length=1, max_length=100)
    days: int | None = Field(default=None, ge=1, le=366)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9._-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=12, max_length=1024)


class UserCreated(BaseModel):
    user: UserRead
    totp_secret: str | None = Field(description="Shown once; enrol it in an authenticator app.")


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIssued(BaseModel):
    token: str = Field(description="Shown once. Send it as: Authorization: Bearer <token>")
    details: TokenRead
    user: UserRead
