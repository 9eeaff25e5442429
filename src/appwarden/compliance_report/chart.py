"""The report's chart: one stacked bar per determination, its devices by status, drawn as
inline SVG geometry (no script, nothing to fetch)."""

from __future__ import annotations

from dataclasses import dataclass

from appwarden.compliance_report.schemas import DeterminationReport

WIDTH = 600
LABEL_HEIGHT = 18
BAR_HEIGHT = 22
ROW_HEIGHT = LABEL_HEIGHT + BAR_HEIGHT + 14
#: Statuses in the order they stack, and their colours (each at least 3:1 on white).
ORDER = ("compliant", "exempt", "cannot_enforce", "pending", "unreachable", "non_compliant")
COLOURS = {
    "compliant": "#1b5e2b",
    "exempt": "#3f4fa0",
    "cannot_enforce": "#7a5c00",
    "pending": "#a34700",
    "unreachable": "#595959",
    "non_compliant": "#a31515",
}


@dataclass(frozen=True)
class Segment:
    status: str
    x: float
    width: float
    count: int
    colour: str


@dataclass(frozen=True)
class Row:
    label: str
    y: int
    segments: list[Segment]
    total: int


def rows(determinations: list[DeterminationReport]) -> list[Row]:
    drawn = []
    for index, d in enumerate(determinations):
        total = sum(d.counts.get(s, 0) for s in ORDER)
        x = 0.0
        segments = []
        for status in ORDER:
            count = d.counts.get(status, 0)
            if not count:
                continue
            width = round(WIDTH * count / total, 2)
            segments.append(Segment(status, round(x, 2), width, count, COLOURS[status]))
            x += width
        label = f"{d.determination_id}. {d.title}"
        drawn.append(Row(label=label, y=index * ROW_HEIGHT, segments=segments, total=total))
    return drawn


def height(count: int) -> int:
    return max(count, 1) * ROW_HEIGHT
