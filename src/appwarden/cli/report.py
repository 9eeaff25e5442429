"""``appwarden report``: the compliance report as of a date, as a signed-in user (the same
service and permission as ``GET /api/v1/reports/compliance``). It reads the history as
recorded; nothing is judged or written. On any error nothing is written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from appwarden.auth.roles import Permission
from appwarden.cli.acting import acting_as, unit_of_work
from appwarden.cli.files import deliver
from appwarden.compliance_report.service import report_file


def report(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="YYYY-MM-DD (the end of that day, UTC) or a time with its offset; "
            "default: now. Not in the future.",
        ),
    ] = None,
    determination: Annotated[
        int | None, typer.Option(help="One determination's id; default: all.", min=1)
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, json or html.")] = "json",
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """The compliance report for a central authority: devices in scope, removed, exempt
    (with waivers), non-compliant, unreachable, and removal deadlines met or missed."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        found = report_file(
            context.session,
            as_of=as_of,
            determination_id=determination,
            fmt=fmt,
            now=context.clock.now(),
        )
    deliver(found.content, out, what=f"{fmt}, ")
