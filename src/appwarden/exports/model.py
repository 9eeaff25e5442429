"""Plain data in and out of the export builders: no database, no clock, no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from appwarden.exports.naming import slug


@dataclass(frozen=True)
class PlatformLists:
    """What the devices of one platform in the scope must enforce, as exact app ids."""

    banned: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    allow_list: bool = False

    @property
    def refused(self) -> tuple[str, ...]:
        """Banned or blocked: every id an MDM block list carries."""
        return tuple(sorted(set(self.banned) | set(self.blocked)))


@dataclass(frozen=True)
class AppLabel:
    """What an MDM shows next to an app id: its catalog name and publisher."""

    name: str
    publisher: str = ""


@dataclass(frozen=True)
class ScopeLists:
    """The determinations in force for one device group, resolved per platform.

    ``warnings`` name every target no export can express exactly (a pattern, a signer
    certificate, waivers for named devices); each export adds its own.
    """

    scope: str
    generated_at: datetime
    android: PlatformLists
    ios: PlatformLists
    domains: tuple[str, ...] = ()
    labels: dict[str, AppLabel] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def platform(self, name: str) -> PlatformLists:
        return self.android if name == "android" else self.ios

    def label(self, app_id: str) -> AppLabel:
        return self.labels.get(app_id, AppLabel(name=app_id))


@dataclass(frozen=True)
class Export:
    """One export: the file's bytes, how to name and serve it, and what it left out."""

    kind: str
    scope: str
    filename: str
    media_type: str
    content: bytes
    warnings: tuple[str, ...] = ()


def json_export(
    kind: str, lists: ScopeLists, document: dict[str, Any], warnings: list[str]
) -> Export:
    """A JSON export of ``document`` for the scope: indented, keys sorted, with the scope's
    warnings before the export's own."""
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    return Export(
        kind=kind,
        scope=lists.scope,
        filename=f"appwarden-{slug(lists.scope)}-{kind}.json",
        media_type="application/json",
        content=text.encode("utf-8"),
        warnings=(*lists.warnings, *warnings),
    )
