"""``appwarden partners``: import a partner's list, export ours, compare the two — the
same service functions and permissions as the API, as the user of ``APPWARDEN_TOKEN``.

A file larger than ``APPWARDEN_PARTNER_LIST_MAX_BYTES`` is refused before it is read; a
bad file is one line naming its row, and nothing is imported (exit 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from appwarden.auth.roles import Permission
from appwarden.cli.acting import CliContext, acting_as, unit_of_work
from appwarden.cli.files import deliver
from appwarden.decisions.service import Acting
from appwarden.errors import Invalid, TooLarge
from appwarden.partners import service
from appwarden.partners.compare import Comparison
from appwarden.partners.format import Target

app = typer.Typer(help="Partners' ban lists: import, export, compare.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="The partner list: a CSV or JSON file, UTF-8.")]
FormatOpt = Annotated[
    Literal["csv", "json"] | None, typer.Option("--format", help="Default: from the extension.")
]
PendingOpt = Annotated[
    bool, typer.Option(help="Also our drafts, proposals and notices, not only what is in force.")
]


def _read(context: CliContext, path: Path) -> bytes:
    """The file, refused by its size before a byte is read."""
    limit = context.settings.partner_list_max_bytes
    try:
        if path.stat().st_size > limit:
            raise TooLarge(
                f"{path} is larger than {limit} bytes (APPWARDEN_PARTNER_LIST_MAX_BYTES)"
            )
        return path.read_bytes()
    except OSError as error:
        raise Invalid(f"cannot read {path}: {error.strerror}") from None


def _format(path: Path, given: str | None) -> str | None:
    return given or {".csv": "csv", ".json": "json"}.get(path.suffix.lower())


@app.command("import")
def import_(
    path: FileArg,
    fmt: FormatOpt = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="Device group of the proposals (repeat); default *.")
    ] = None,
    review_days: Annotated[int, typer.Option(min=1, max=3650)] = service.REVIEW_DAYS,
) -> None:
    """Import a partner's list: proposals for the targets found in the catalog."""
    with unit_of_work() as context:
        principal = acting_as(context, Permission.propose)
        data = _read(context, path)
        acting = Acting(
            context.session, context.clock, context.audit_key, context.settings, principal
        )
        result = service.import_list(
            acting, data, fmt=_format(path, fmt), scope=scope, review_days=review_days
        )
    for outcome in result.outcomes:
        number = f" determination {outcome.determination_id}" if outcome.determination_id else ""
        why = f" ({outcome.reason})" if outcome.reason else ""
        typer.echo(f"{outcome.result}\t{outcome.target.label()}{number}{why}")
    counts = ", ".join(
        f"{result.count(r)} {r}" for r in ("proposed", "draft", "existing", "unmatched")
    )
    typer.echo(f"imported {result.partner_list.jurisdiction}'s list: {counts}", err=True)


@app.command("export")
def export(
    jurisdiction: Annotated[str, typer.Option(help="Who we are, as the list names us.")],
    fmt: Annotated[Literal["csv", "json"], typer.Option("--format")] = "json",
    source_title: Annotated[str | None, typer.Option(help="Default: the date.")] = None,
    source_url: Annotated[str | None, typer.Option()] = None,
    pending: PendingOpt = False,
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """Export our determinations in force as a partner list (CSV or JSON)."""
    if source_url is not None and not source_url.startswith(("https://", "http://")):
        typer.echo("appwarden: error: --source-url must be an http(s) URL", err=True)
        raise typer.Exit(1)
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        result = service.export(
            context.session, fmt=fmt, now=context.clock.now(), jurisdiction=jurisdiction,
            source_title=source_title, source_url=source_url, pending=pending,
        )  # fmt: skip
    deliver(result.content, out, what="", warnings=result.warnings)


def _what(target: Target) -> str:
    return f"{target.kind} {target.value}" + (f" ({target.platform})" if target.platform else "")


def table(comparison: Comparison, title: str) -> Table:
    """The comparison as one table: target, our action, their action, where it is."""
    grid = Table(title=Text(title), title_justify="left")
    for column in ("target", "ours", "theirs", "in"):
        grid.add_column(column)
    for pair in comparison.both:
        ours = f"{pair.ours.target.action} (#{pair.ours.determination_id}, {pair.ours.status})"
        style = "" if pair.same_action else "yellow"
        grid.add_row(Text(_what(pair.theirs)), ours, Text(pair.theirs.action, style=style), "both")
    for mine in comparison.only_ours:
        ours = f"{mine.target.action} (#{mine.determination_id}, {mine.status})"
        grid.add_row(Text(_what(mine.target)), ours, "—", "only ours")
    for theirs in comparison.only_theirs:
        grid.add_row(Text(_what(theirs)), "—", theirs.action, "only theirs")
    return grid


@app.command("compare")
def compare(path: FileArg, fmt: FormatOpt = None, pending: PendingOpt = False) -> None:
    """A partner's list against our determinations: in both, only ours, only theirs."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        data = _read(context, path)
        compared = service.compare_list(
            context.session, data, fmt=_format(path, fmt), now=context.clock.now(),
            max_bytes=context.settings.partner_list_max_bytes, pending=pending,
        )  # fmt: skip
    pl, c = compared.partner_list, compared.comparison
    title = f"{pl.jurisdiction}: {pl.source_title} ({pl.date.isoformat()})"
    console = Console(width=200, soft_wrap=False)
    console.print(table(c, title))
    console.print(
        f"{len(c.both)} in both ({sum(not p.same_action for p in c.both)} with another action), "
        f"{len(c.only_ours)} only ours, {len(c.only_theirs)} only theirs",
        markup=False,
    )
    for warning in compared.warnings:
        typer.echo(f"warning: {warning}", err=True)
