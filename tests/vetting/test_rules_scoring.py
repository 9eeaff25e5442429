"""Rules are data; the score is additive with per-category caps and sums exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appwarden.vetting.assess import Vetter
from appwarden.vetting.checks import CHECKS
from appwarden.vetting.model import Assessment
from appwarden.vetting.permissions import _aosp_protection_levels, build_protection_table
from appwarden.vetting.rules import RulesError, load_rules, parse_rules
from appwarden.vetting.scoring import VerdictThresholds, grade_of, score_findings
from tests.conftest import APPS, require


def test_every_rule_has_a_check_and_every_check_a_rule() -> None:
    assert set(CHECKS) == {rule.id for rule in load_rules().rules}


def test_rules_are_complete() -> None:
    rules = load_rules()
    assert sum(rules.caps.values()) == 100
    for rule in rules.rules:
        assert rule.title and rule.description and rule.remediation, rule.id
        assert rule.masvs and all(m.startswith("MASVS-") for m in rule.masvs), rule.id
        assert all(m.startswith("MASWE-") for m in rule.maswe), rule.id
        assert all(c.startswith("CWE-") for c in rule.cwe), rule.id
        assert rule.category in rules.caps


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[categories]\na = 50\n", "sum to 100"),
        ('[categories]\na = 100\n[[rule]]\nid = "X"\n', "missing or invalid"),
        (
            '[categories]\na = 100\n[[rule]]\nid="X"\ntitle="t"\nseverity="dire"\nweight=1\n'
            'category="a"\nplatforms=["android"]\ndescription="d"\nremediation="r"\n',
            "unknown severity",
        ),
    ],
)
def test_bad_rules_are_refused(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_rules(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 37), st.integers(1, 6)), max_size=38, unique_by=lambda x: x[0]
    )
)
def test_breakdown_sums_exactly_to_the_total(picks: list[tuple[int, int]]) -> None:
    rules = load_rules()
    triggered = [
        (rules.rules[i % len(rules.rules)], [f"e{n}" for n in range(count)]) for i, count in picks
    ]
    findings, score, verdict = score_findings(triggered, rules, VerdictThresholds())
    assert sum(f.points for f in findings) == score.total == sum(c.points for c in score.breakdown)
    for category in score.breakdown:
        assert 0 <= category.points <= category.cap
        assert category.points == min(category.raw, category.cap)
    assert 0 <= score.total <= 100
    assert score.grade == grade_of(score.total)
    assert verdict == VerdictThresholds().verdict(score.total)
    assert [c.points for c in score.top] == sorted((c.points for c in score.top), reverse=True)


def test_thresholds_decide_the_verdict() -> None:
    thresholds = VerdictThresholds(warn_at=10, fail_at=20)
    assert [thresholds.verdict(t) for t in (0, 9, 10, 19, 20, 100)] == [
        "pass",
        "pass",
        "warn",
        "warn",
        "fail",
        "fail",
    ]


def _assess(path: Path, thresholds: VerdictThresholds | None = None) -> Assessment:
    return Vetter(thresholds=thresholds).assess_file(require(path))


def test_configurable_thresholds_change_only_the_verdict() -> None:
    strict = _assess(APPS / "diva.apk", VerdictThresholds(warn_at=1, fail_at=2))
    lenient = _assess(APPS / "diva.apk", VerdictThresholds(warn_at=99, fail_at=100))
    assert strict.score == lenient.score
    assert (strict.verdict, lenient.verdict) == ("fail", "pass")


def test_findings_carry_their_evidence_and_references() -> None:
    assessment = _assess(APPS / "diva.apk")
    debuggable = next(f for f in assessment.findings if f.rule_id == "AW-CFG-001")
    assert debuggable.evidence == ['android:debuggable="true"']
    assert "CWE-489" in debuggable.cwe and debuggable.masvs
    assert assessment.limitations and any(
        "does not run the app" in s for s in assessment.limitations
    )


def test_shipped_protection_table_matches_androguard() -> None:
    assert _aosp_protection_levels() == build_protection_table()
