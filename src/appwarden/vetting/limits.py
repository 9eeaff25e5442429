"""Limits that keep a hostile archive from exhausting memory, disk or time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_file_bytes: int = 1024 * 1024 * 1024
    max_uncompressed_bytes: int = 2 * 1024 * 1024 * 1024
    #: Highest uncompressed/compressed ratio allowed for an entry larger than ``ratio_floor``.
    max_ratio: int = 200
    ratio_floor: int = 1024 * 1024
    max_entries: int = 100_000
    #: An APK inside an APK is vetted; one inside that is listed, not opened.
    max_nesting: int = 1
