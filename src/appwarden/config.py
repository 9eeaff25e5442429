"""Settings: one typed class, read from the environment (prefix ``APPWARDEN_``)."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Settings:
        if self.warn_at > self.fail_at:
            raise ValueError("warn_at must not exceed fail_at")
        return self

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
