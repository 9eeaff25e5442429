"""Installed apps and the inventory hash both sides of ``POST /v1/state`` compute."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_SIGNER = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, order=True)
class InstalledApp:
    """One app on the device: its id and the SHA-256 of its signing certificate, if known."""

    app_id: str
    signer: str | None = None

    def document(self) -> dict[str, Any]:
        return {"app_id": self.app_id, "signer": self.signer}

    @classmethod
    def parse(cls, spec: str) -> InstalledApp:
        """``app_id`` or ``app_id:signer-sha256`` (as the command line takes it)."""
        app_id, _, raw = spec.strip().partition(":")
        if not app_id:
            raise ValueError(f"no app id in {spec!r}")
        signer = raw.lower() or None
        if signer is not None and not _SIGNER.match(signer):
            raise ValueError(f"the signer in {spec!r} must be 64 hex characters")
        return cls(app_id, signer)


def inventory_hash(apps: Iterable[InstalledApp]) -> str:
    """SHA-256 hex of the sorted lines ``"{app_id}\\t{signer or ''}\\n"`` (UTF-8)."""
    lines = sorted(f"{app.app_id}\t{app.signer or ''}\n" for app in apps)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
