"""Our targets against a partner's: in both, only ours, only theirs. Pure.

Two targets are the same when :meth:`Target.overlaps` says so (the same app id on a common
platform, or the same publisher's name without case). A pair whose actions differ is still
"in both", flagged ``same_action=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from appwarden.partners.format import Target


@dataclass(frozen=True)
class Ours:
    """One of our targets, with the determination it comes from."""

    target: Target
    determination_id: int
    status: str


@dataclass(frozen=True)
class Pair:
    ours: Ours
    theirs: Target

    @property
    def same_action(self) -> bool:
        return self.ours.target.action == self.theirs.action


@dataclass(frozen=True)
class Comparison:
    both: tuple[Pair, ...]
    only_ours: tuple[Ours, ...]
    only_theirs: tuple[Target, ...]


def compare(ours: Sequence[Ours], theirs: Sequence[Target]) -> Comparison:
    """Each of their targets is paired with every one of ours it overlaps."""
    both: list[Pair] = []
    matched: set[int] = set()
    only_theirs: list[Target] = []
    for target in theirs:
        found = [i for i, o in enumerate(ours) if o.target.overlaps(target)]
        both.extend(Pair(ours[i], target) for i in found)
        matched.update(found)
        if not found:
            only_theirs.append(target)
    only_ours = [o for i, o in enumerate(ours) if i not in matched]
    return Comparison(tuple(both), tuple(only_ours), tuple(only_theirs))
