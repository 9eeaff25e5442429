"""A report as a file: JSON (the API's document), CSV (one row per device and
determination) or HTML (:mod:`appwarden.compliance_report.html`)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from appwarden.compliance_report.html import render_html
from appwarden.compliance_report.schemas import ComplianceReport, DeterminationReport, DeviceLine
from appwarden.errors import Invalid

FORMATS = ("json", "csv", "html")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
CSV_COLUMNS = (
    "as_of",
    "determination_id",
    "determination_title",
    "action",
    "removal_deadline",
    "device_id",
    "platform",
    "ownership",
    "department",
    "user_name",
    "source",
    "status",
    "since",
    "removed",
    "removed_at",
    "deadline",
    "status_at_deadline",
    "waiver_ids",
    "waiver_reasons",
    "waiver_expiries",
)
#: A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    media_type: str
    filename: str


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise Invalid(f"unknown report format {name!r}; expected one of {', '.join(FORMATS)}")
    return name


def _time(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def _cell(value: object) -> str:
    """Text for a CSV cell that no spreadsheet will run as a formula."""
    text = _time(value) if isinstance(value, datetime) or value is None else str(value)
    if isinstance(value, str) and text.startswith(_FORMULA):
        return "'" + text
    return text


def _row(report: ComplianceReport, section: DeterminationReport, line: DeviceLine) -> list[str]:
    values: list[object] = [
        report.as_of, section.determination_id, section.title, section.action,
        section.removal_deadline, line.device_id, line.platform,
        line.ownership, line.department, line.user_name, line.source, line.status, line.since,
        "yes" if line.removed else "no", line.removed_at, line.deadline,
        line.status_at_deadline or "",
        " ".join(str(w.waiver_id) for w in line.waivers),
        " ".join(w.reason for w in line.waivers),
        " ".join(_time(w.expires_at) for w in line.waivers),
    ]  # fmt: skip
    return [_cell(v) for v in values]


def to_csv(report: ComplianceReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for d in report.determinations:
        for line in d.devices:
            writer.writerow(_row(report, d, line))
    return out.getvalue()


def filename(report: ComplianceReport, fmt: str) -> str:
    which = "all" if report.determination_id is None else f"d{report.determination_id}"
    stamp = report.as_of.strftime("%Y%m%dT%H%M%SZ")
    return f"compliance-{which}-{stamp}.{fmt}"


def render(report: ComplianceReport, fmt: str) -> ReportFile:
    check_format(fmt)
    if fmt == "json":
        content = report.model_dump_json(indent=2).encode("utf-8")
    elif fmt == "csv":
        content = to_csv(report).encode("utf-8")
    else:
        content = render_html(report).encode("utf-8")
    return ReportFile(content, MEDIA_TYPES[fmt], filename(report, fmt))
