"""Settings: one typed class, read from the environment (prefix ``APPWARDEN_``)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from appwarden.allocator import Choice
from appwarden.collector import SERVER_THRESHOLDS
from appwarden.vetting.limits import ArchiveLimits
from appwarden.vetting.scoring import VerdictThresholds


def _default_data_dir() -> Path:
    return Path(user_data_dir("appwarden", appauthor=False))


class Settings(BaseSettings):
    """Everything an operator may set. Each field is documented in docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="APPWARDEN_", extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Holds imported tracker definitions and, later, the database.",
    )
    warn_at: int = Field(default=25, ge=0, le=100, description="Score at which a verdict is warn.")
    fail_at: int = Field(default=50, ge=0, le=100, description="Score at which a verdict is fail.")
    max_file_bytes: int = Field(
        default=1024 * 1024 * 1024, gt=0, description="Largest input file vetted, in bytes."
    )
    max_uncompressed_bytes: int = Field(
        default=2 * 1024 * 1024 * 1024,
        gt=0,
        description="Largest total of uncompressed bytes an archive may declare.",
    )
    max_compression_ratio: int = Field(
        default=200, gt=1, description="Largest uncompressed/compressed ratio of one entry."
    )
    max_entries: int = Field(default=100_000, gt=0, description="Most entries in one archive.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default SQLite in the data directory. "
        "postgresql+psycopg://... for PostgreSQL.",
    )
    db_pool_size: int = Field(default=5, gt=0, le=50, description="Connections per process.")
    threads: int = Field(
        default=8,
        ge=1,
        le=200,
        description="Worker threads per process for request handlers that block on the "
        "database; parked long-polls use none.",
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="Key of the audit hash chain; default a key file in the data directory.",
    )
    upload_max_bytes: int = Field(
        default=500 * 1024 * 1024, gt=0, description="Largest app file accepted by upload."
    )
    inventory_max_bytes: int = Field(
        default=50 * 1024 * 1024,
        gt=0,
        description="Largest MDM inventory file accepted by import (docs/inventories.md).",
    )
    inventory_sources: Path | None = Field(
        default=None,
        description="TOML file of the MDMs whose inventories are pulled through their APIs "
        "(docs/inventories.md); unset: none.",
    )
    inventory_pull_max_bytes: int = Field(
        default=20 * 1024 * 1024,
        gt=0,
        description="Largest answer read from an MDM's API during a pull (one page or device).",
    )
    body_max_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description="Largest request body on any route but uploads (JSON, forms).",
    )
    partner_list_max_bytes: int = Field(
        default=5 * 1024 * 1024,
        gt=0,
        description="Largest partner list accepted by import or comparison (refused unread).",
    )
    waiver_max_days: int = Field(default=365, gt=0, description="Longest waiver, in days.")
    interim_notice_days: int = Field(
        default=14, gt=0, description="Days within which an interim ban's vendor notice is due."
    )
    reply_window_days: int = Field(
        default=30, gt=0, description="Default days a vendor has to reply to a notice."
    )
    token_days: int = Field(default=30, gt=0, description="Default lifetime of an API token.")
    sign_in_limit: int = Field(
        default=5, gt=0, description="Failed sign-ins per user name in 15 minutes before 429."
    )
    session_minutes: int = Field(
        default=480,
        ge=5,
        le=7 * 24 * 60,
        description="Lifetime of a console sign-in, in minutes (then the user signs in again).",
    )
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Mark console cookies Secure: always, never, or auto = when the request "
        "came over https.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Prometheus must send to read /metrics; unset, /metrics is off.",
    )
    opentelemetry: bool = Field(
        default=False,
        description="Let FastAPI emit OpenTelemetry spans, metrics and logs to the providers "
        "the process configures (the OTEL_* environment). Off, no request pays for looking "
        "them up.",
    )
    allocator: Choice = Field(
        default="auto",
        description="Memory allocator of the server processes: jemalloc (returns memory "
        "after a burst; Debian's libjemalloc2), system (the C library's), or auto = "
        "jemalloc where installed.",
    )
    gc_thresholds: tuple[
        Annotated[int, Field(ge=100)], Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]
    ] = Field(
        default=SERVER_THRESHOLDS,
        description="CPython's garbage collector thresholds in the server processes (young, "
        "middle, oldest generation), as JSON: [50000, 20, 10]. CPython's own are [700, 10, 10].",
    )
    max_connections: int | None = Field(
        default=None,
        ge=10,
        description="Connections one server process holds at once (parked long-polls "
        "included); past it, new requests get 503. Unset: its open-file limit less 3,048.",
    )
    heap_census_dir: Path | None = Field(
        default=None,
        description="Where each server process writes a census of its live objects by type "
        "when it receives SIGUSR2 (a memory diagnostic); unset, SIGUSR2 is not taken.",
    )
    enroll_limit: int = Field(
        default=20, gt=0, description="Enrollment attempts per client address in 15 minutes."
    )
    wakeups: Literal["auto", "notify", "poll", "local"] = Field(
        default="auto",
        description="How a server process learns that another one changed device policies "
        "(to answer its parked long-polls): notify = PostgreSQL LISTEN/NOTIFY, poll = read the "
        "policy generation every poll_interval_ms, local = changes of this process only, "
        "auto = notify on PostgreSQL, poll on SQLite.",
    )
    poll_interval_ms: int = Field(
        default=100, ge=10, le=60_000, description="Generation polling period (wakeups=poll)."
    )
    reconcile: bool = Field(
        default=True,
        description="Recompile device policies in the background of each server process "
        "right after changes commit; off, they are recompiled when a device asks.",
    )
    reconcile_interval_ms: int = Field(
        default=1000,
        ge=50,
        le=3_600_000,
        description="Period of the background sweep: changes written by other processes "
        "(the CLI) and policies the clock changes.",
    )
    judge_interval_s: float = Field(
        default=30.0,
        ge=0.05,
        le=86_400,
        description="How often each server process judges the compliance of devices that "
        "did not report (pending, unreachable) and sends due webhooks.",
    )
    unreachable_after_hours: int = Field(
        default=24, gt=0, description="Hours without a state report before a device is unreachable."
    )
    compliance_webhook_url: str | None = Field(
        default=None, description="Where changes of a device's overall compliance are POSTed."
    )
    compliance_webhook_secret: SecretStr | None = Field(
        default=None, description="Key of the webhook's HMAC-SHA256 signature."
    )

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Settings:
        if self.warn_at > self.fail_at:
            raise ValueError("warn_at must not exceed fail_at")
        if self.compliance_webhook_url and self.compliance_webhook_secret is None:
            raise ValueError("compliance_webhook_url needs compliance_webhook_secret")
        return self

    @property
    def database(self) -> str:
        """The database URL in use (the SQLite file in the data directory by default)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'appwarden.db'}"

    @property
    def blobs_dir(self) -> Path:
        """Uploaded app files, stored by their SHA-256."""
        return self.data_dir / "blobs"

    def audit_secret(self) -> bytes:
        """The audit chain key: the setting, else ``audit.key`` in the data directory
        (made on first use, readable by its owner only). Never stored in the database."""
        if self.audit_key is not None:
            return self.audit_key.get_secret_value().encode()
        path = self.data_dir / "audit.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as stream:
                stream.write(secrets.token_hex(32))
        return path.read_text().strip().encode()

    @property
    def trackers_dir(self) -> Path:
        """Where `appwarden trackers import` keeps imported definitions."""
        return self.data_dir / "trackers"

    @property
    def archive_limits(self) -> ArchiveLimits:
        return ArchiveLimits(
            max_file_bytes=self.max_file_bytes,
            max_uncompressed_bytes=self.max_uncompressed_bytes,
            max_ratio=self.max_compression_ratio,
            max_entries=self.max_entries,
        )

    @property
    def thresholds(self) -> VerdictThresholds:
        return VerdictThresholds(warn_at=self.warn_at, fail_at=self.fail_at)


def get_settings() -> Settings:
    """Build settings from the environment; called at the edges (CLI, server), never at import."""
    return Settings()
