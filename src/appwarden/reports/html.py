"""An assessment as a self-contained, printable HTML report; a folder run as an index page.

Everything read from an app file (labels, names, strings, URLs) is hostile input. The
templates are autoescaped, nothing is marked safe, and no page loads anything: no external
CSS, script, font or image, and links only to other report files or anchors in the page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TypeVar
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from appwarden.vetting.model import Assessment, Score
from appwarden.vetting.scoring import GRADES

T = TypeVar("T")

# Geometry of the score chart, in SVG user units (the chart scales to the page width).
CHART_WIDTH = 360
ROW_HEIGHT = 46
BAR_HEIGHT = 14


@dataclass(frozen=True, slots=True)
class Bar:
    """One category of the score chart: a track as long as its cap, filled by its points.

    Widths are in SVG units, less the 1-unit stroke of the track.
    """

    category: str
    y: int
    cap_width: float
    points_width: float
    label: str


def score_bars(score: Score) -> list[Bar]:
    """Chart rows, on one scale of points, so categories with larger caps have longer tracks."""
    largest = max((c.cap for c in score.breakdown), default=0) or 1
    unit = CHART_WIDTH / largest
    bars = []
    for row, item in enumerate(score.breakdown):
        label = f"{item.points} of {item.cap} points"
        if item.raw > item.cap:
            label += f" (raw {item.raw}, capped)"
        bars.append(
            Bar(
                category=item.category,
                y=row * ROW_HEIGHT,
                cap_width=max(round(item.cap * unit - 1, 1), 0),
                points_width=max(round(item.points * unit - 1, 1), 0),
                label=label,
            )
        )
    return bars


def grouped(items: Iterable[T], key: Callable[[T], str | None]) -> list[tuple[str | None, list[T]]]:
    """Items grouped by ``key``, groups in name order, the ungrouped (``None``) last."""
    groups: dict[str | None, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return sorted(groups.items(), key=lambda pair: (pair[0] is None, pair[0] or ""))


def grade_bands() -> str:
    """The grade scale in words, e.g. ``A 0–9, B 10–24, …, F 70–100``."""
    bands = sorted(GRADES)
    parts = []
    for index, (floor, grade) in enumerate(bands):
        top = bands[index + 1][0] - 1 if index + 1 < len(bands) else 100
        parts.append(f"{grade} {floor}–{top}")
    return ", ".join(parts)


def format_size(size: int) -> str:
    """Exact bytes, then a rounded binary unit: ``3,030,019 bytes (2.9 MiB)``."""
    exact = f"{size:,} bytes"
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{exact} ({size / factor:.1f} {unit})"
    return exact


def format_value(value: object) -> str:
    """A plist or JSON value as text: strings as they are, the rest as compact JSON."""
    if value is None:
        return "(not set)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def pretty_json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def yes_no(value: bool | None) -> str:
    if value is None:
        return "not declared"
    return "yes" if value else "no"


def report_href(name: str) -> str:
    """A link to a sibling report file that cannot become a scheme or another host."""
    return "./" + quote(name, safe="/")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("appwarden.reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(size=format_size, value=format_value, yesno=yes_no)
    return env


def shared_context(assessment: Assessment) -> dict[str, object]:
    """What both report formats derive from an assessment, beyond the assessment itself."""
    ios = assessment.ios
    manifest = ios.privacy_manifest if ios else None
    return {
        "a": assessment,
        "grade_bands": grade_bands(),
        "permission_groups": grouped(assessment.permissions, lambda p: p.group),
        "usage_groups": grouped(ios.usage_descriptions, lambda u: u.group) if ios else [],
        "privacy_manifest": pretty_json(manifest) if manifest is not None else None,
    }


def render_html(assessment: Assessment) -> str:
    """The full report for one assessment, as one HTML5 document with nothing to fetch."""
    template = _environment().get_template("assessment.html.j2")
    return template.render(
        shared_context(assessment),
        bars=score_bars(assessment.score),
        chart_width=CHART_WIDTH,
        chart_height=max(len(assessment.score.breakdown), 1) * ROW_HEIGHT,
        bar_height=BAR_HEIGHT,
    )


def render_index_html(
    entries: list[tuple[str, Assessment]], failures: list[tuple[str, str]] | None = None
) -> str:
    """An index of reports for a folder run: one row per assessment, linking to its report.

    Each entry is the report's file name (relative to the index page) and its assessment;
    ``failures`` lists the files that could not be vetted, as (file name, reason).
    """
    rows = [(report_href(name), assessment) for name, assessment in entries]
    verdicts = {v: sum(1 for _, a in entries if a.verdict == v) for v in ("fail", "warn", "pass")}
    return (
        _environment()
        .get_template("index.html.j2")
        .render(rows=rows, verdicts=verdicts, failures=failures or [])
    )
