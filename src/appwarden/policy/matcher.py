"""Does a rule cover an app, and which action wins: shared by compiler and agents.

The compiler uses these functions to build a policy's lists; an agent uses the same ones
on its cached document to decide an install offline, including rules and waivers that
lapse while it is away, so the two can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import cache

from appwarden.policy.model import RuleEntry, Target
from appwarden.policy.precedence import rulebook


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters, dots included; everything else is literal."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def pattern_matches(pattern: str, app_id: str) -> bool:
    return _pattern(pattern).fullmatch(app_id) is not None


def covers(target: Target, app_id: str, signers: Iterable[str] = ()) -> bool:
    """Whether ``target`` names this app (by id, pattern, publisher's apps or signer)."""
    if target.kind == "app":
        return target.value == app_id
    if target.kind == "pattern":
        return target.value is not None and pattern_matches(target.value, app_id)
    if target.kind == "publisher":
        return app_id in target.app_ids
    return target.value in {s.lower() for s in signers}


def in_effect(entry: RuleEntry, at: datetime | None) -> bool:
    """A rule binds at ``at`` unless it has expired or a waiver still exempts the device.

    ``at=None`` means "as compiled": only the waiver matters, expiry was already applied.
    """
    if at is None:
        return entry.waived_until is None
    if entry.expires_at is not None and entry.expires_at <= at:
        return False
    return entry.waived_until is None or entry.waived_until <= at


def strongest(actions: Iterable[str]) -> str | None:
    """The winning action by the rank in ``policy.md`` (ban beats block beats ...)."""
    book = rulebook()
    return min(actions, key=book.rank, default=None)


def action_for(
    rules: Iterable[RuleEntry],
    app_id: str,
    signers: Iterable[str] = (),
    *,
    at: datetime | None = None,
) -> str | None:
    """The action that decides this app on a device holding ``rules``, or None."""
    signer_set = list(signers)
    return strongest(
        r.action for r in rules if in_effect(r, at) and covers(r.target, app_id, signer_set)
    )
