"""The policy an agent holds: the server's document, read back into the rule entries the
compiler wrote, so :mod:`appwarden.policy.matcher` decides on the device exactly as on the
server, by the device's own clock (rules lapse at ``expires_at``, waivers at
``waived_until``, even offline)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from appwarden.policy.matcher import covers, in_effect, strongest
from appwarden.policy.model import RuleEntry, Target

#: Enforcement modes that let the device do nothing but report.
REPORT_ONLY = frozenset({"cannot_enforce", "detect"})


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone in the policy: {value!r}")
    return moment


def _target(raw: dict[str, Any]) -> Target:
    kind = str(raw["kind"])
    if kind == "publisher":
        return Target(
            kind=kind,
            publisher_ids=tuple(int(i) for i in raw.get("publisher_ids", ())),
            app_ids=tuple(str(a) for a in raw.get("app_ids", ())),
            domains=tuple(str(d) for d in raw.get("domains", ())),
        )
    value = raw.get("value")
    return Target(kind=kind, value=None if value is None else str(value))


def rule_entry(raw: dict[str, Any]) -> RuleEntry:
    """One entry of the document's ``rules`` list, as the compiler made it."""
    return RuleEntry(
        id=int(raw["id"]),
        action=str(raw["action"]),
        target=_target(raw["target"]),
        platform=raw.get("platform"),
        enforcement=str(raw.get("enforcement", "detect")),
        effective_at=_time(raw.get("effective_at")),
        removal_deadline=_time(raw.get("removal_deadline")),
        expires_at=_time(raw.get("expires_at")),
        waived_until=_time(raw.get("waived_until")),
    )


@dataclass(frozen=True)
class Verdict:
    """What the policy says of one app at one moment."""

    action: str | None  # the strongest action of the rules covering the app, or None
    rule: int | None  # the rule that decided it
    enforcement: str | None  # that rule's mode on this device
    message: str | None = None

    @property
    def enforced(self) -> bool:
        return self.enforcement is not None and self.enforcement not in REPORT_ONLY


@dataclass(frozen=True)
class CachedPolicy:
    """A policy version as received: ``version``, ``etag`` and the ``document``."""

    version: int
    etag: str
    document: dict[str, Any]
    rules: tuple[RuleEntry, ...] = field(default=(), compare=False)

    @classmethod
    def from_response(cls, body: dict[str, Any]) -> CachedPolicy:
        document = dict(body["policy"])
        rules = tuple(rule_entry(r) for r in document.get("rules", ()))
        return cls(int(body["version"]), str(body["etag"]), document, rules)

    def response(self) -> dict[str, Any]:
        return {"version": self.version, "etag": self.etag, "policy": self.document}

    def message(self, rule: int | None) -> str | None:
        for raw in self.document.get("messages", ()):
            if rule is not None and raw.get("rule") == rule:
                return str(raw.get("text") or raw.get("title") or "")
        return None

    def active(self, at: datetime) -> list[RuleEntry]:
        """The rules that bind at ``at`` (not expired, not waived)."""
        return [r for r in self.rules if in_effect(r, at)]

    def verdict(self, app_id: str, signers: Iterable[str], at: datetime) -> Verdict:
        """The strongest rule covering the app at ``at`` (ranks of policy.md)."""
        signer_list = [s for s in signers if s]
        covering = [r for r in self.active(at) if covers(r.target, app_id, signer_list)]
        action = strongest(r.action for r in covering)
        if action is None:
            return Verdict(None, None, None)
        rule = min((r for r in covering if r.action == action), key=lambda r: r.id)
        return Verdict(action, rule.id, rule.enforcement, self.message(rule.id))

    def allow_list(self, at: datetime) -> RuleEntry | None:
        """An allow rule that puts the device in allow-list mode at ``at`` and can be
        enforced, or None."""
        rules = [r for r in self.active(at) if r.action == "allow"]
        enforced = [r for r in rules if r.enforcement not in REPORT_ONLY]
        return min(enforced, key=lambda r: r.id) if enforced else None

    def allows_listed(self, app_id: str, signers: Iterable[str], at: datetime) -> bool:
        signer_list = [s for s in signers if s]
        return any(
            covers(r.target, app_id, signer_list) for r in self.active(at) if r.action == "allow"
        )
