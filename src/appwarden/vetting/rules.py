"""Vetting rules as data: loaded from ``data/rules.toml`` (see docs/scoring.md)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import get_args

from appwarden.vetting.model import Platform, Severity


class RulesError(ValueError):
    """The rules file is inconsistent; the message names the rule."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    severity: Severity
    weight: int
    category: str
    platforms: tuple[Platform, ...]
    masvs: tuple[str, ...]
    maswe: tuple[str, ...]
    cwe: tuple[str, ...]
    description: str
    remediation: str
    per_item: int = 0
    max_weight: int | None = None

    def asked(self, evidence_count: int) -> int:
        """Points this rule asks for, given how many pieces of evidence it found."""
        points = self.weight + self.per_item * max(evidence_count - 1, 0)
        return points if self.max_weight is None else min(points, self.max_weight)


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    caps: dict[str, int]

    def by_id(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def _rule(raw: dict[str, object], caps: dict[str, int]) -> Rule:
    rule_id = str(raw.get("id", "?"))
    try:
        rule = Rule(
            id=rule_id,
            title=str(raw["title"]),
            severity=raw["severity"],  # type: ignore[arg-type]
            weight=int(raw["weight"]),  # type: ignore[call-overload]
            category=str(raw["category"]),
            platforms=tuple(raw["platforms"]),  # type: ignore[arg-type]
            masvs=tuple(raw.get("masvs", ())),  # type: ignore[arg-type]
            maswe=tuple(raw.get("maswe", ())),  # type: ignore[arg-type]
            cwe=tuple(raw.get("cwe", ())),  # type: ignore[arg-type]
            description=str(raw["description"]),
            remediation=str(raw["remediation"]),
            per_item=int(raw.get("per_item", 0)),  # type: ignore[call-overload]
            max_weight=int(raw["max_weight"]) if "max_weight" in raw else None,  # type: ignore[call-overload]
        )
    except (KeyError, TypeError, ValueError) as err:
        raise RulesError(f"rule {rule_id}: missing or invalid field {err}") from None
    if rule.severity not in get_args(Severity):
        raise RulesError(f"rule {rule_id}: unknown severity {rule.severity!r}")
    if rule.category not in caps:
        raise RulesError(f"rule {rule_id}: category {rule.category!r} has no cap")
    if not set(rule.platforms) <= set(get_args(Platform)):
        raise RulesError(f"rule {rule_id}: unknown platform in {rule.platforms}")
    return rule


def parse_rules(text: str) -> RuleSet:
    document = tomllib.loads(text)
    caps = {str(k): int(v) for k, v in document.get("categories", {}).items()}
    if sum(caps.values()) != 100:
        raise RulesError(f"category caps must sum to 100, not {sum(caps.values())}")
    rules = tuple(_rule(raw, caps) for raw in document.get("rule", []))
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        raise RulesError("two rules share an id")
    return RuleSet(rules=rules, caps=caps)


@cache
def load_rules() -> RuleSet:
    """The rules shipped with AppWarden."""
    text = resources.files("appwarden.vetting").joinpath("data/rules.toml").read_text("utf-8")
    return parse_rules(text)
