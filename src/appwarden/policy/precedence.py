"""The policy rulebook, read from its tables in ``policy.md``.

The Markdown file is the single source, as ``lifecycle.md`` is for determinations: the
compiler applies these rows, the docs show them (``docs/policy.md`` links here) and the
tests check every row against :func:`appwarden.policy.compile_policy`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from appwarden.policy.model import ACTIONS, OWNERSHIPS, PLATFORMS

LISTS = ("banned", "blocked", "allowed", "monitored")
_ROW = re.compile(r"^\|(.+)\|\s*$")


@dataclass(frozen=True)
class ActionRow:
    action: str
    rank: int
    device_must: str
    network: bool
    compliant_when: str
    non_compliant_when: str


@dataclass(frozen=True)
class ConflictRow:
    first: str
    second: str | None
    outcome: frozenset[str]


@dataclass(frozen=True)
class PlatformRow:
    platform: str
    ownership: str
    supervised: bool | None  # None: either
    management: str
    modes: dict[str, str]  # action -> enforcement mode


@dataclass(frozen=True)
class Rulebook:
    actions: tuple[ActionRow, ...]
    conflicts: tuple[ConflictRow, ...]
    cases: dict[str, str]
    platforms: tuple[PlatformRow, ...]
    modes: dict[str, str]
    shared_suffixes: tuple[str, ...]

    def rank(self, action: str) -> int:
        """Lower wins: the strength of ``action`` when two rules cover one app."""
        for row in self.actions:
            if row.action == action:
                return row.rank
        raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")

    def blocks_network(self, action: str) -> bool:
        return any(row.action == action and row.network for row in self.actions)

    def platform_row(self, platform: str, ownership: str, supervised: bool) -> PlatformRow:
        """The row for a device; every valid combination has exactly one."""
        for row in self.platforms:
            if (row.platform, row.ownership) == (platform, ownership) and row.supervised in (
                None,
                supervised,
            ):
                return row
        raise ValueError(f"policy.md has no platform row for {platform}/{ownership}")

    def is_shared(self, domain: str) -> bool:
        """Shared infrastructure: the domain is, or is under, a listed suffix."""
        return any(domain == s or domain.endswith("." + s) for s in self.shared_suffixes)


def _cells(line: str) -> list[str]:
    match = _ROW.match(line.strip())
    if not match:
        return []
    return [cell.strip().strip("`").strip() for cell in match.group(1).split("|")]


def _table(text: str, heading: str, occurrence: int = 0) -> list[list[str]]:
    """The rows of the ``occurrence``-th table after ``heading``, without header and rule."""
    lines = text.splitlines()
    tables: list[list[list[str]]] = [[]]
    for line in lines[lines.index(heading) + 1 :]:
        if line.startswith("#"):
            break
        cells = _cells(line)
        if cells:
            tables[-1].append(cells)
        elif tables[-1]:
            tables.append([])
    rows = tables[occurrence]
    return [row for row in rows[1:] if not set("".join(row)) <= set("-: ")]


def _pairs(rows: list[list[str]]) -> dict[str, str]:
    """A two-column table as a mapping (a third column would be a malformed row)."""
    result = {}
    for key, value in rows:
        result[key] = value
    return result


def _supervised(cell: str) -> bool | None:
    return {"yes": True, "no": False, "any": None}[cell]


def _platforms(text: str) -> tuple[PlatformRow, ...]:
    rows = []
    for platform, ownership, supervised, management, *modes in _table(text, "## Platforms"):
        rows.append(
            PlatformRow(
                platform=platform,
                ownership=ownership,
                supervised=_supervised(supervised),
                management=management,
                modes=dict(zip(ACTIONS, modes, strict=True)),
            )
        )
    return tuple(rows)


def parse(text: str) -> Rulebook:
    """Read every table of ``policy.md`` and check that they fit together."""
    actions = tuple(
        ActionRow(a, int(rank), must, net == "yes", ok, bad)
        for a, rank, must, net, ok, bad in _table(text, "## Actions")
    )
    conflicts = tuple(
        ConflictRow(
            first,
            None if second == "-" else second,
            frozenset(x.strip() for x in outcome.split(",")),
        )
        for first, second, outcome in _table(text, "## Precedence")
    )
    book = Rulebook(
        actions=actions,
        conflicts=conflicts,
        cases=_pairs(_table(text, "## Scope, waivers and time")),
        platforms=_platforms(text),
        modes=_pairs(_table(text, "## Platforms", 1)),
        shared_suffixes=tuple(row[0].lower() for row in _table(text, "## Network")),
    )
    _check(book)
    return book


def _check(book: Rulebook) -> None:
    """Refuse a rulebook the compiler could not follow: a gap or a typo fails loudly."""
    if tuple(row.action for row in sorted(book.actions, key=lambda r: r.rank)) != ACTIONS:
        raise ValueError("policy.md: the actions table must rank ban, block, allow, monitor")
    for row in book.conflicts:
        if {row.first, row.second} - {*ACTIONS, None} or row.outcome - set(LISTS):
            raise ValueError(f"policy.md: bad precedence row {row}")
    for p in book.platforms:
        if p.platform not in PLATFORMS or p.ownership not in OWNERSHIPS:
            raise ValueError(f"policy.md: bad platform row {p}")
        unknown = set(p.modes.values()) - set(book.modes)
        if unknown:
            raise ValueError(f"policy.md: undefined modes {sorted(unknown)}")
    for platform in PLATFORMS:
        for ownership in OWNERSHIPS:
            for supervised in (True, False):
                book.platform_row(platform, ownership, supervised)


@cache
def rulebook() -> Rulebook:
    """The rulebook shipped with the package (read once)."""
    text = resources.files("appwarden.policy").joinpath("policy.md").read_text("utf-8")
    return parse(text)
