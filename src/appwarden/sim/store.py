"""Saved identities of a simulated fleet, so a later run reuses the enrolled devices.

``fleet.json`` names the server; ``identities.jsonl`` has one line per device: its index
in the plan, its device id and its private key (keep the folder private)."""

from __future__ import annotations

import json
import os
from pathlib import Path


class FleetStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def _meta(self) -> Path:
        return self.folder / "fleet.json"

    @property
    def _lines(self) -> Path:
        return self.folder / "identities.jsonl"

    def load(self, server: str) -> dict[int, dict[str, str]]:
        """The saved identities for ``server`` (none if the folder served another one)."""
        if not self._meta.exists():
            return {}
        if json.loads(self._meta.read_text()).get("server") != server.rstrip("/"):
            return {}
        found: dict[int, dict[str, str]] = {}
        if self._lines.exists():
            for line in self._lines.read_text().splitlines():
                if line.strip():
                    raw = json.loads(line)
                    found[int(raw["index"])] = {
                        "device_id": str(raw["device_id"]),
                        "private_key": str(raw["private_key"]),
                    }
        return found

    def reset(self, server: str) -> None:
        """Start a new fleet for ``server``: forget every saved identity."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._meta.write_text(json.dumps({"server": server.rstrip("/")}))
        self._lines.unlink(missing_ok=True)

    def add(self, identities: dict[int, dict[str, str]]) -> None:
        if not identities:
            return
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self._lines, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a") as stream:
            for index, raw in sorted(identities.items()):
                stream.write(json.dumps({"index": index, **raw}) + "\n")

    def prepare(self, server: str) -> dict[int, dict[str, str]]:
        """Saved identities for ``server``, or a fresh store for it."""
        found = self.load(server)
        if not found:
            self.reset(server)
        return found
