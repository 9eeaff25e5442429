"""``appwarden audit``: verify the chain, export it."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from appwarden.audit import service
from appwarden.cli.acting import unit_of_work

app = typer.Typer(help="The tamper-evident audit log.")


@app.command("verify")
def verify() -> None:
    """Check every event's hash and link; exit 1 naming the first bad event.

    Prints the head (last sequence number and hash): keep it, so that a later run that
    shows a shorter chain or another head reveals events cut off the end."""
    with unit_of_work() as context:
        result = service.verify(context.session, key=context.audit_key)
    typer.echo(f"head: seq {result.head_seq} hash {result.head_hash}")
    if not result.ok:
        typer.echo(
            f"appwarden: error: audit event {result.first_bad_seq} fails: {result.reason}",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"ok: {result.count} events, chain intact")


@app.command("export")
def export(
    out: Annotated[typer.FileTextWrite | None, typer.Option(help="File (default stdout).")] = None,
) -> None:
    """Write every event as JSON Lines, then the head on standard error."""
    stream = out or sys.stdout
    with unit_of_work() as context:
        count = 0
        for event in service.iter_events(context.session):
            stream.write(json.dumps(service.as_record(event), sort_keys=True) + "\n")
            count += 1
        result = service.verify(context.session, key=context.audit_key)
    typer.echo(
        f"exported {count} events; head: seq {result.head_seq} hash {result.head_hash}", err=True
    )
