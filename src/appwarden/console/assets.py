"""Static files: the console's own (``static/``, in the repository) and the browser
libraries installed from the npm registry by ``make vendor`` into ``static/vendor/``
(git-ignored, never committed; pinned in package-lock.json). Nothing loads from a CDN.

A server whose vendor folder is missing still starts: it logs a warning, and every page
says that its scripts are missing (read-only pages work without them)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor"
#: What ``make vendor`` copies from node_modules, by the name pages refer to.
VENDOR_FILES = {
    "htmx": "htmx.min.js",
    "chart": "chart.umd.min.js",
    "axe": "axe.min.js",
}

log = logging.getLogger("appwarden.console")


@dataclass(frozen=True)
class Assets:
    """Which vendor scripts this server can serve (``/static/vendor/<file>``)."""

    available: frozenset[str]
    missing: tuple[str, ...]

    def url(self, name: str) -> str | None:
        return f"/static/vendor/{VENDOR_FILES[name]}" if name in self.available else None


def find_assets(vendor: Path = VENDOR) -> Assets:
    available = frozenset(name for name, file in VENDOR_FILES.items() if (vendor / file).is_file())
    missing = tuple(VENDOR_FILES[name] for name in VENDOR_FILES if name not in available)
    if missing:
        log.warning(
            "console scripts missing from %s: %s; run `make vendor` (npm ci) to install them",
            vendor,
            ", ".join(missing),
        )
    return Assets(available=available, missing=missing)
