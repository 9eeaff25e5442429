"""A report file from the request's words: the date (checked), the determination (if
one) and the format. What the API, the console and the command line all call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from appwarden.compliance_report.asof import parse_as_of
from appwarden.compliance_report.formats import ReportFile, check_format, render
from appwarden.compliance_report.replay import build


def report_file(
    session: Session,
    *,
    as_of: str | None,
    determination_id: int | None,
    fmt: str,
    now: datetime,
) -> ReportFile:
    """Checks the format and the date first, so bad input reads nothing."""
    check_format(fmt)
    moment = parse_as_of(as_of, now=now)
    report = build(session, as_of=moment, now=now, determination_id=determination_id)
    return render(report, fmt)
