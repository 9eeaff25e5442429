"""Score: additive weighted points, capped per category, so the breakdown sums to the total.

Within a category, findings are counted from the heaviest down until the cap is reached;
the finding that crosses the cap counts only what is left. Each finding's ``points`` is
what it contributes, so ``sum(finding.points) == sum(breakdown.points) == total``.
"""

from __future__ import annotations

from dataclasses import dataclass

from appwarden.vetting.model import CategoryScore, Contributor, Finding, Score, Verdict
from appwarden.vetting.rules import Rule, RuleSet

# Grade bands by total score (inclusive lower bounds).
GRADES: tuple[tuple[int, str], ...] = (
    (70, "F"),
    (55, "E"),
    (40, "D"),
    (25, "C"),
    (10, "B"),
    (0, "A"),
)
_TOP = 5


@dataclass(frozen=True, slots=True)
class VerdictThresholds:
    warn_at: int = 25
    fail_at: int = 50

    def verdict(self, total: int) -> Verdict:
        if total >= self.fail_at:
            return "fail"
        return "warn" if total >= self.warn_at else "pass"


def grade_of(total: int) -> str:
    return next(grade for floor, grade in GRADES if total >= floor)


def _finding(rule: Rule, evidence: list[str], points: int) -> Finding:
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        severity=rule.severity,
        category=rule.category,
        weight=rule.asked(len(evidence)),
        points=points,
        masvs=list(rule.masvs),
        maswe=list(rule.maswe),
        cwe=list(rule.cwe),
        description=rule.description,
        remediation=rule.remediation,
        evidence=evidence,
    )


def score_findings(
    triggered: list[tuple[Rule, list[str]]], rules: RuleSet, thresholds: VerdictThresholds
) -> tuple[list[Finding], Score, Verdict]:
    """Turn triggered rules (with their evidence) into findings, a score and a verdict."""
    findings: list[Finding] = []
    breakdown: list[CategoryScore] = []
    for category, cap in rules.caps.items():
        members = [(r, e) for r, e in triggered if r.category == category]
        members.sort(key=lambda item: (-item[0].asked(len(item[1])), item[0].id))
        left = cap
        raw = 0
        for rule, evidence in members:
            asked = rule.asked(len(evidence))
            raw += asked
            counted = min(asked, left)
            left -= counted
            findings.append(_finding(rule, evidence, counted))
        breakdown.append(CategoryScore(category=category, raw=raw, cap=cap, points=cap - left))
    total = sum(c.points for c in breakdown)
    ranked = sorted((f for f in findings if f.points > 0), key=lambda f: (-f.points, f.rule_id))
    score = Score(
        total=total,
        grade=grade_of(total),  # type: ignore[arg-type]
        breakdown=breakdown,
        top=[Contributor(rule_id=f.rule_id, title=f.title, points=f.points) for f in ranked[:_TOP]],
    )
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    findings.sort(key=lambda f: (order[f.severity], -f.points, f.rule_id))
    return findings, score, thresholds.verdict(total)
