"""A compliance report as one printable HTML page: self-contained (no script, no external
style, font or image), with an inline SVG chart. Autoescaped: titles and names are text
people typed."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from appwarden.compliance_report import chart
from appwarden.compliance_report.schemas import ComplianceReport

STATUS_WORDS = {
    "compliant": "compliant",
    "non_compliant": "non-compliant",
    "pending": "pending",
    "exempt": "exempt",
    "unreachable": "unreachable",
    "cannot_enforce": "cannot enforce",
}
DEADLINE_WORDS = {
    "met": "met",
    "missed": "missed",
    "not_due": "not yet due",
    "none": "no deadline",
    "not_counted": "not counted (exempt or cannot enforce)",
    "after_deadline": "in scope only after the deadline",
}


def when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("appwarden.compliance_report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = when
    return env


def render_html(report: ComplianceReport) -> str:
    template = _environment().get_template("compliance_report.html.j2")
    return template.render(
        r=report,
        rows=chart.rows(report.determinations),
        chart_width=chart.WIDTH,
        chart_height=chart.height(len(report.determinations)),
        label_height=chart.LABEL_HEIGHT,
        bar_height=chart.BAR_HEIGHT,
        order=chart.ORDER,
        colours=chart.COLOURS,
        status_words=STATUS_WORDS,
        deadline_words=DEADLINE_WORDS,
    )
