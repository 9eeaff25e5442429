"""The ``appwarden`` command."""

from __future__ import annotations

import typer

from appwarden import __version__
from appwarden.cli import trackers, vet

app = typer.Typer(
    name="appwarden",
    help="Vet risky mobile apps; decide, enforce and prove bans on a managed fleet.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("vet")(vet.vet)
app.add_typer(trackers.app, name="trackers")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"appwarden {__version__}")


def main() -> None:
    app()
