"""The pure parts: reading the date, deadlines, CSV cells that cannot become formulas."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appwarden.compliance_report.asof import FutureAsOf, MalformedAsOf, parse_as_of
from appwarden.compliance_report.deadlines import device_deadline, overall
from appwarden.compliance_report.formats import _cell
from appwarden.compliance_report.schemas import ComplianceReport

NOW = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
T = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_dates_and_times() -> None:
    assert parse_as_of(None, now=NOW) == NOW
    assert parse_as_of(" ", now=NOW) == NOW
    assert parse_as_of("2026-11-20", now=NOW) == datetime(
        2026, 11, 20, 23, 59, 59, 999999, tzinfo=UTC
    )
    assert parse_as_of("2026-11-23", now=NOW) == NOW  # today: capped at now
    assert parse_as_of("2026-11-20T13:00:00+01:00", now=NOW) == T
    assert parse_as_of("2026-11-20T12:00:00Z", now=NOW) == T


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("2026-11-24", FutureAsOf),
        ("2026-11-23T15:30:01Z", FutureAsOf),
        ("2026-13-01", MalformedAsOf),
        ("20261120", MalformedAsOf),
        ("2026-11-20T12:00:00", MalformedAsOf),
        ("x" * 41, MalformedAsOf),
    ],
)
def test_bad_dates(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_as_of(text, now=NOW)


def test_deadline_per_device_and_overall() -> None:
    after = T + timedelta(days=1)
    assert device_deadline(None, after, in_scope=True, status_then="compliant") == "none"
    assert device_deadline(T, T - timedelta(seconds=1), in_scope=True, status_then=None) == (
        "not_due"
    )
    assert device_deadline(T, T, in_scope=True, status_then="compliant") == "met"
    assert device_deadline(T, after, in_scope=True, status_then="pending") == "missed"
    assert device_deadline(T, after, in_scope=True, status_then="unreachable") == "missed"
    assert device_deadline(T, after, in_scope=True, status_then="exempt") == "not_counted"
    assert device_deadline(T, after, in_scope=False, status_then=None) == "after_deadline"
    assert overall(T, after, missed=0) == "met"
    assert overall(T, after, missed=1) == "missed"
    assert overall(T, T - timedelta(seconds=1), missed=0) == "not_due"
    assert overall(None, after, missed=3) == "none"


def test_csv_cells_never_become_formulas() -> None:
    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _cell("+1") == "'+1" and _cell("@x") == "'@x"
    assert _cell("TikTok ban") == "TikTok ban"
    assert _cell(None) == "" and _cell(7) == "7"
    assert _cell(T) == "2026-11-20T12:00:00+00:00"


def test_the_documented_example_is_a_report() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "reports.md"
    example = re.search(r"```json\n(.*?)```", docs.read_text(encoding="utf-8"), re.S)
    assert example is not None
    report = ComplianceReport.model_validate_json(example.group(1))
    section = report.determinations[0]
    assert section.in_scope == len(section.devices) + 1  # the example shows two of three
    assert sum(report.counts.values()) == report.in_scope
