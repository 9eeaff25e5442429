"""The partner-list format, as data, and how a list is written (CSV and JSON). Pure.

A list is one partner's document: a jurisdiction, a source (title, optional URL), a date,
and targets (an app id, with an optional platform, or a publisher's name), each with an
action. docs/partners.md describes the format; :mod:`appwarden.partners.parse` reads it.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

FORMAT = "appwarden-partner-list"
VERSION = 1
ACTIONS = ("ban", "block", "monitor", "allow")
PLATFORMS = ("android", "ios")
#: Every CSV column, in the order an export writes them.
CSV_COLUMNS = (
    "jurisdiction",
    "source_title",
    "source_url",
    "date",
    "app_id",
    "platform",
    "publisher",
    "action",
    "name",
    "reference",
)
#: Columns a CSV file must have (a target also needs ``app_id`` or ``publisher``).
REQUIRED_COLUMNS = ("jurisdiction", "source_title", "date", "action")
#: Cells a spreadsheet would run as a formula start with one of these (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Kind = Literal["app", "publisher"]


@dataclass(frozen=True)
class Target:
    """One entry of a list: an app id (platform None: both) or a publisher's name."""

    action: str
    app_id: str | None = None
    platform: str | None = None
    publisher: str | None = None
    name: str | None = None
    reference: str | None = None

    @property
    def kind(self) -> Kind:
        return "app" if self.app_id is not None else "publisher"

    @property
    def value(self) -> str:
        """The app id or the publisher's name."""
        return self.app_id if self.app_id is not None else str(self.publisher)

    def label(self) -> str:
        """How a message names the target: ``app com.x (android)``, ``publisher "X"``."""
        if self.app_id is not None:
            return f"app {self.app_id} ({self.platform or 'both platforms'})"
        return f'publisher "{self.publisher}"'

    def overlaps(self, other: Target) -> bool:
        """The same target: the same app id on a common platform, or the same publisher
        (names compared without case)."""
        if self.kind != other.kind:
            return False
        if self.app_id is not None:
            platforms = {self.platform, other.platform}
            return self.app_id == other.app_id and (None in platforms or len(platforms) == 1)
        return str(self.publisher).casefold() == str(other.publisher).casefold()


@dataclass(frozen=True)
class PartnerList:
    jurisdiction: str
    source_title: str
    source_url: str | None
    date: date
    targets: tuple[Target, ...]


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs: a leading ``'`` before a formula
    start. :func:`appwarden.partners.parse` takes it off again (round trip)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _target_json(target: Target) -> dict[str, Any]:
    item: dict[str, Any] = (
        {"app_id": target.app_id, "platform": target.platform}
        if target.app_id is not None
        else {"publisher": target.publisher}
    )
    item["action"] = target.action
    for name in ("name", "reference"):
        if (value := getattr(target, name)) is not None:
            item[name] = value
    return item


def to_json(partner_list: PartnerList) -> bytes:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "jurisdiction": partner_list.jurisdiction,
        "source": {"title": partner_list.source_title, "url": partner_list.source_url},
        "date": partner_list.date.isoformat(),
        "targets": [_target_json(t) for t in partner_list.targets],
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _row(partner_list: PartnerList, target: Target) -> list[str]:
    cells = {
        "jurisdiction": partner_list.jurisdiction,
        "source_title": partner_list.source_title,
        "source_url": partner_list.source_url,
        "date": partner_list.date.isoformat(),
        "app_id": target.app_id,
        "platform": target.platform,
        "publisher": target.publisher,
        "action": target.action,
        "name": target.name,
        "reference": target.reference,
    }
    return [neutralise(cells[c] or "") for c in CSV_COLUMNS]


def to_csv(partner_list: PartnerList) -> bytes:
    """UTF-8 without a BOM, CRLF line ends (RFC 4180), formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_row(partner_list, t) for t in partner_list.targets)
    return out.getvalue().encode("utf-8")


def write(partner_list: PartnerList, fmt: str) -> bytes:
    return to_csv(partner_list) if fmt == "csv" else to_json(partner_list)
