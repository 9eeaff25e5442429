"""Writing a command's document (an export, a report, a list): to a file or to stdout,
with its warnings on stderr, so that stdout carries the document alone and pipes well."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import typer


def deliver(content: bytes, out: Path | None, *, what: str, warnings: Iterable[str] = ()) -> None:
    """Write ``content`` to ``out`` (stdout if None); warnings and the "wrote" line go to
    stderr. A file that cannot be written is one error line and exit 1."""
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    if out is None:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    try:
        out.write_bytes(content)
    except OSError as error:
        typer.echo(f"appwarden: error: cannot write {out}: {error.strerror}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {out} ({what}{len(content)} bytes)", err=True)
