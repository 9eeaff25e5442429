"""``appwarden trackers``: see and import tracker definitions."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from appwarden.config import get_settings
from appwarden.vetting.trackers import (
    DefinitionsError,
    load_definitions_file,
    load_installed,
    to_document,
)

app = typer.Typer(help="Tracker definitions: list what is loaded, import Exodus-format lists.")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="An Exodus-format or AppWarden-format JSON list.")],
    name: Annotated[str | None, typer.Option(help="Name to store it under.")] = None,
) -> None:
    """Validate a list and add it to the data directory; later runs load it."""
    try:
        definitions = load_definitions_file(file)
    except DefinitionsError as error:
        typer.echo(f"appwarden: error: {error}", err=True)
        raise typer.Exit(2) from None
    folder = get_settings().trackers_dir
    folder.mkdir(parents=True, exist_ok=True)
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in (name or file.stem))
    target = folder / f"{stem}.json"
    # Write to a temporary file and rename, so a crash never leaves half a list behind.
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(to_document(definitions))
    os.replace(temporary, target)
    Console(highlight=False).print(
        f"imported {len(definitions.trackers)} trackers from {file} into {target}", markup=False
    )


@app.command("list")
def list_(
    trackers: Annotated[Path | None, typer.Option(help="Show this list instead.")] = None,
) -> None:
    """Show the tracker definitions a run would use."""
    try:
        definitions = (
            load_definitions_file(trackers)
            if trackers
            else load_installed(get_settings().trackers_dir)
        )
    except DefinitionsError as error:
        typer.echo(f"appwarden: error: {error}", err=True)
        raise typer.Exit(2) from None
    table = Table(title=f"{definitions.name}: {len(definitions.trackers)} trackers")
    for column in ("id", "name", "categories", "code", "network", "iOS"):
        table.add_column(column)
    for t in definitions.trackers:
        table.add_row(
            t.id,
            t.name,
            ", ".join(t.categories),
            str(len(t.code_signatures)),
            str(len(t.network_signatures)),
            str(len(t.ios_frameworks)),
        )
    console = Console(highlight=False)
    console.print(table)
    console.print(f"sources: {', '.join(definitions.sources)}", markup=False)
    console.print(f"sha256: {definitions.sha256}")
