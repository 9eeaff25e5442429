"""The lifecycle of a determination, read from its table in ``lifecycle.md``.

The Markdown file is the single source: the service enforces its rows, the docs show it
(``docs/lifecycle.md`` links to it) and the tests check both. This module also says what
a determination's status is *now*: an end date that has passed makes an ``in_force``
determination ``expired`` without anyone acting (:func:`effective_status`, and
:func:`status_clause` for the same rule in SQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from importlib import resources

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, or_

from appwarden.auth.roles import Permission
from appwarden.errors import InvalidTransition

SYSTEM = "system"


class Status(StrEnum):
    draft = "draft"
    proposed = "proposed"
    notice = "notice"
    in_force = "in_force"
    rejected = "rejected"
    rescinded = "rescinded"
    expired = "expired"


@dataclass(frozen=True)
class Transition:
    source: Status
    action: str
    target: Status
    who: Permission | None  # None: the system only
    conditions: tuple[str, ...]

    @property
    def by_system(self) -> bool:
        return self.who is None


@dataclass(frozen=True)
class Lifecycle:
    transitions: tuple[Transition, ...]
    conditions: dict[str, str]

    def find(self, status: Status, action: str) -> Transition:
        """The row for ``action`` from ``status``, or a refusal that names the way out."""
        for row in self.transitions:
            if row.source == status and row.action == action:
                return row
        allowed = self.allowed_from(status)
        detail = f"cannot {action} a determination that is {status.value}; " + (
            f"from {status.value} the allowed actions are: {', '.join(allowed)}"
            if allowed
            else f"{status.value} is final"
        )
        raise InvalidTransition(
            detail, current_status=status.value, action=action, allowed_actions=allowed
        )

    def allowed_from(self, status: Status) -> list[str]:
        return [r.action for r in self.transitions if r.source == status and not r.by_system]

    @property
    def actions(self) -> list[str]:
        """Actions users may ask for, in table order, each once."""
        return list(dict.fromkeys(r.action for r in self.transitions if not r.by_system))

    def permission_of(self, action: str) -> Permission:
        """The one permission an action needs (the table gives each action one)."""
        for row in self.transitions:
            if row.action == action and row.who is not None:
                return row.who
        raise KeyError(action)


_ROW = re.compile(r"^\|(.+)\|\s*$")


def _cells(line: str) -> list[str]:
    match = _ROW.match(line.strip())
    if not match:
        return []
    return [cell.strip().strip("`").strip() for cell in match.group(1).split("|")]


def _table(text: str, heading: str) -> list[list[str]]:
    """The rows of the first table after ``heading`` (without its header and rule)."""
    lines = text.splitlines()
    start = lines.index(heading)
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        cells = _cells(line)
        if cells:
            rows.append(cells)
        elif rows:
            break
    return [row for row in rows[1:] if not set("".join(row)) <= set("-: ")]


def parse(text: str) -> Lifecycle:
    """Read the transitions and conditions tables of ``lifecycle.md``."""
    transitions = []
    for source, action, target, who, conditions in _table(text, "## Transitions"):
        names = tuple(c.strip().strip("`") for c in conditions.split(",") if c.strip())
        transitions.append(
            Transition(
                source=Status(source),
                action=action,
                target=Status(target),
                who=None if who == SYSTEM else Permission(who),
                conditions=names,
            )
        )
    defined = {row[0]: row[1] for row in _table(text, "## Conditions")}
    lifecycle = Lifecycle(tuple(transitions), defined)
    _check(lifecycle)
    return lifecycle


def _check(lifecycle: Lifecycle) -> None:
    seen: dict[str, Permission | None] = {}
    for row in lifecycle.transitions:
        if seen.setdefault(row.action, row.who) != row.who:
            raise ValueError(f"lifecycle.md: {row.action} needs one permission in every row")
        unknown = set(row.conditions) - set(lifecycle.conditions)
        if unknown:
            raise ValueError(f"lifecycle.md: undefined conditions {sorted(unknown)}")
    pairs = [(r.source, r.action) for r in lifecycle.transitions]
    if len(pairs) != len(set(pairs)):
        raise ValueError("lifecycle.md: a status and action appear in two rows")


@cache
def lifecycle() -> Lifecycle:
    """The lifecycle table shipped with the package (read once)."""
    text = resources.files("appwarden.decisions").joinpath("lifecycle.md").read_text("utf-8")
    return parse(text)


def effective_status(status: Status, expires_at: datetime | None, now: datetime) -> Status:
    """The status that holds at ``now``: in force past its end date means expired."""
    if status is Status.in_force and expires_at is not None and expires_at <= now:
        return Status.expired
    return status


def status_clause(
    status_column: SQLColumnExpression[str],
    expires_column: SQLColumnExpression[datetime | None],
    wanted: Status,
    now: datetime,
) -> ColumnElement[bool]:
    """SQL for ``effective_status(...) == wanted``: the same rule, in a WHERE clause."""
    lapsed = and_(
        status_column == Status.in_force.value,
        expires_column.is_not(None),
        expires_column <= now,
    )
    if wanted is Status.expired:
        return or_(status_column == Status.expired.value, lapsed)
    if wanted is Status.in_force:
        return and_(status_column == Status.in_force.value, ~lapsed)
    return status_column == wanted.value
