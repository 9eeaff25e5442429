"""The ``appwarden`` command."""

from __future__ import annotations

import json

import typer

from appwarden import __version__
from appwarden.cli import (
    audit,
    catalog,
    compliance,
    decisions,
    demo,
    export,
    fleet,
    inventory,
    partners,
    report,
    server,
    sim,
    trackers,
    users,
    vet,
    waivers,
)
from appwarden.vetting.model import json_schema

app = typer.Typer(
    name="appwarden",
    help="Vet risky mobile apps; decide, enforce and prove bans on a managed fleet.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("vet")(vet.vet)
app.add_typer(trackers.app, name="trackers")
app.command("serve")(server.serve)
app.command("demo")(demo.run)
app.add_typer(server.app, name="db")
app.add_typer(users.app, name="users")
app.command("login")(users.login)
app.add_typer(audit.app, name="audit")
app.add_typer(waivers.app, name="waivers")
app.add_typer(catalog.app, name="apps")
app.add_typer(catalog.publishers, name="publishers")
decisions.app.command("impact")(compliance.impact)
app.add_typer(decisions.app, name="determinations")
app.add_typer(fleet.groups, name="groups")
app.add_typer(fleet.devices, name="devices")
app.command("agent")(sim.agent)
app.command("simulate")(sim.simulate)
app.command("drill")(sim.drill)
app.command("export")(export.export)
app.add_typer(partners.app, name="partners")
app.command("report")(report.report)
app.add_typer(inventory.app, name="inventory")


@app.command()
def schema() -> None:
    """Print the JSON Schema of `appwarden vet --format json` output."""
    typer.echo(json.dumps(json_schema(), indent=2, sort_keys=True))


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"appwarden {__version__}")


def main() -> None:
    app()
