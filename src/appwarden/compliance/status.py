"""One device's status for one rule of its policy, from what it last reported.

No database and no clock (``now`` is an argument): the service gathers the inputs. What
"compliant" means per action is the Actions table of docs/policy.md; which installed app a
rule covers is :mod:`appwarden.policy.matcher`, the same code the agents use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from appwarden.policy.matcher import action_for, covers, in_effect
from appwarden.policy.model import RuleEntry, Target

#: Installed apps: app id → signer SHA-256 (or None).
Apps = Mapping[str, str | None]
#: Statuses that count towards a device's overall compliance.
GOOD = frozenset({"compliant", "exempt"})


def inventory_hash(apps: Apps) -> str:
    """SHA-256 hex of the sorted lines ``"{app_id}\\t{signer or ''}\\n"`` (UTF-8)."""
    lines = sorted(f"{app_id}\t{signer or ''}\n" for app_id, signer in apps.items())
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _signers(signer: str | None) -> list[str]:
    return [signer] if signer else []


def present(entry: RuleEntry, entries: Sequence[RuleEntry], apps: Apps, now: datetime) -> bool:
    """Whether the device holds what makes ``entry`` non-compliant if enforced: for ``ban``
    an app the target covers; for ``allow`` an app no allow rule in effect lists; for
    ``block`` and ``monitor`` whether the target is installed (reported only)."""
    if entry.action == "allow":
        allows = [e for e in entries if e.action == "allow" and in_effect(e, now)]
        return any(
            not any(covers(e.target, app_id, _signers(signer)) for e in allows)
            for app_id, signer in apps.items()
        )
    return any(covers(entry.target, app_id, _signers(signer)) for app_id, signer in apps.items())


@dataclass(frozen=True)
class Observed:
    """What the server knows of the device when it judges."""

    now: datetime
    apps: Apps | None  # None: no inventory reported yet
    reported_at: datetime | None  # None: never reported
    applied_rules: frozenset[int]  # rules in force in the version the device applied
    unreachable: bool


@dataclass(frozen=True)
class Judgement:
    status: str
    present: bool | None
    #: ``pending`` past the rule's removal deadline: the grace period is over.
    overdue: bool = False


def judge(
    entry: RuleEntry, entries: Sequence[RuleEntry], seen: Observed, applies_since: datetime
) -> Judgement:
    """The status of one rule: exempt, cannot_enforce, unreachable, pending, compliant or
    non_compliant, in that order of precedence."""
    now = seen.now
    holds = None if seen.apps is None else present(entry, entries, seen.apps, now)
    if entry.waived_until is not None and entry.waived_until > now:
        return Judgement("exempt", holds)
    if entry.enforcement == "cannot_enforce":
        return Judgement("cannot_enforce", holds)
    if seen.unreachable:
        return Judgement("unreachable", holds)
    start = max(t for t in (entry.effective_at, applies_since) if t is not None)
    overdue = entry.removal_deadline is not None and now >= entry.removal_deadline
    if seen.reported_at is None or holds is None or seen.reported_at < start:
        return Judgement("pending", holds, overdue)
    if entry.action in ("block", "monitor") or not holds:
        return Judgement("compliant", holds)
    if entry.id in seen.applied_rules:
        return Judgement("non_compliant", holds)
    return Judgement("pending", holds, overdue)  # the device has not applied the rule yet


def overall(judgements: Iterable[Judgement]) -> bool:
    """A device is compliant when every rule is compliant or exempt; pending within its
    removal deadline (a new ban does not cut every device off the network until it has
    reported); or cannot be enforced on it and its target was not seen."""
    return all(
        j.status in GOOD
        or (j.status == "pending" and not j.overdue)
        or (j.status == "cannot_enforce" and j.present is not True)
        for j in judgements
    )


def applied_rules(document: Mapping[str, Any] | None, now: datetime) -> frozenset[int]:
    """Ids of the rules a policy document makes the device enforce at ``now``."""
    if not document:
        return frozenset()
    return frozenset(e.id for e in entries_of(document) if in_effect(e, now))


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def entries_of(document: Mapping[str, Any]) -> list[RuleEntry]:
    """The rule entries of a compiled policy document (as issued to a device)."""
    entries = []
    for rule in document.get("rules", []):
        target = rule["target"]
        entries.append(
            RuleEntry(
                id=int(rule["id"]),
                action=str(rule["action"]),
                target=Target(
                    kind=str(target["kind"]),
                    value=target.get("value"),
                    publisher_ids=tuple(target.get("publisher_ids", ())),
                    app_ids=tuple(target.get("app_ids", ())),
                    domains=tuple(target.get("domains", ())),
                ),
                platform=rule.get("platform"),
                enforcement=str(rule["enforcement"]),
                effective_at=_time(rule.get("effective_at")),
                removal_deadline=_time(rule.get("removal_deadline")),
                expires_at=_time(rule.get("expires_at")),
                waived_until=_time(rule.get("waived_until")),
            )
        )
    return entries


def install_decision(
    entries: Sequence[RuleEntry], allow_list: bool, app_id: str, signer: str | None, now: datetime
) -> tuple[bool, int | None, str | None]:
    """(allowed, deciding rule, action) for installing ``app_id`` signed by ``signer``."""
    signers = _signers(signer)
    action = action_for(entries, app_id, signers, at=now)
    covering = [e for e in entries if in_effect(e, now) and covers(e.target, app_id, signers)]
    if action in ("ban", "block"):
        rule = min(e.id for e in covering if e.action == action)
        return False, rule, action
    if action == "allow":
        return True, min(e.id for e in covering if e.action == "allow"), "allow"
    allows = [e.id for e in entries if e.action == "allow" and in_effect(e, now)]
    if allow_list and allows:
        return False, min(allows), "allow"  # allow-list mode: not listed, refused
    return True, None, None
