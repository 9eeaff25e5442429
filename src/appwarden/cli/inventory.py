"""``appwarden inventory import KIND FILE``: import an MDM's inventory file as a signed-in
user (the same service, permission and audit as ``POST /api/v1/inventories/{kind}``).
``appwarden inventory sources`` and ``appwarden inventory pull NAME``: the MDMs configured
for pulls through their APIs, and one pull now (docs/inventories.md).

All or nothing: on any error one line names the item at fault and nothing is imported.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from appwarden.audit.service import Acting
from appwarden.auth.roles import Permission
from appwarden.cli.acting import acting_as, unit_of_work
from appwarden.config import get_settings
from appwarden.db import make_engine, make_sessionmaker
from appwarden.errors import Invalid, TooLarge
from appwarden.inventories.pull.runner import Pulling, last, pull, source_named
from appwarden.inventories.pull.sources import load
from appwarden.inventories.schemas import InventoryImported, PullRecord, SourceStatus
from appwarden.inventories.service import Defaults, import_inventory

app = typer.Typer(help="Inventories taken by other MDMs.", no_args_is_help=True)


def _read(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise TooLarge(f"{path} is larger than {limit} bytes")
        return path.read_bytes()
    except OSError as error:
        raise Invalid(f"cannot read {path}: {error.strerror}") from None


def _taken_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"--taken-at {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise Invalid(f"--taken-at {value!r} needs a time zone offset (e.g. Z)")
    return parsed


@app.command("import")
def import_file(
    kind: Annotated[str, typer.Argument(help="intune, amapi or apple-mdm")],
    file: Annotated[Path, typer.Argument(help="The inventory file.")],
    group: Annotated[str | None, typer.Option(help="Make every device a member.")] = None,
    ownership: Annotated[
        str, typer.Option(help="corporate, byod or contractor, where the file does not say.")
    ] = "corporate",
    supervised: Annotated[
        bool, typer.Option(help="Supervised, where the file does not say.")
    ] = False,
    taken_at: Annotated[
        str | None, typer.Option(help="When the inventory was taken, where the file does not say.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Import an MDM's app inventories: its devices become devices of that source."""
    with unit_of_work() as context:
        principal = acting_as(context, Permission.fleet)
        if ownership not in ("corporate", "byod", "contractor"):
            raise Invalid(f"--ownership must be corporate, byod or contractor, not {ownership!r}")
        result = import_inventory(
            context.session,
            clock=context.clock,
            acting=Acting(actor=principal.actor, audit_key=context.audit_key),
            settings=context.settings,
            kind=kind,
            data=_read(file, context.settings.inventory_max_bytes),
            group=group,
            defaults=Defaults(ownership, supervised, _taken_at(taken_at)),
        )
    if as_json:
        typer.echo(InventoryImported.of(result).model_dump_json(indent=2))
        return
    created = sum(1 for d in result.devices if d.created)
    typer.echo(
        f"imported {len(result.devices)} devices from {result.kind} "
        f"({created} new, {len(result.devices) - created} updated, "
        f"{len(result.skipped)} skipped)"
    )
    for device in result.devices:
        unresolved = f", {len(device.unresolved)} app names unmatched" if device.unresolved else ""
        typer.echo(
            f"  {device.device_id}  {device.external_id}  taken {device.taken_at.isoformat()}  "
            f"{device.apps} apps{unresolved}  {device.compliance}"
        )
    for skipped in result.skipped:
        typer.echo(f"  skipped {skipped.external_id}: {skipped.reason}")


@app.command("sources")
def sources(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the MDMs configured for pulls (APPWARDEN_INVENTORY_SOURCES) and each one's
    last pull."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        configured = load(context.settings.inventory_sources)
    settings = get_settings()
    engine = make_engine(settings.database, pool_size=1)
    try:
        sessions = make_sessionmaker(engine)
        found = [SourceStatus.of(s, last(sessions, s.name)) for s in configured.values()]
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in found], indent=2))
        return
    if not found:
        typer.echo("no inventory sources (set APPWARDEN_INVENTORY_SOURCES; docs/inventories.md)")
    for status in found:
        every = f"every {status.every_minutes} min" if status.every_minutes else "on demand"
        typer.echo(f"{status.name}  {status.kind}  {every}  {_outcome(status.last_pull)}")


def _outcome(record: PullRecord | None) -> str:
    if record is None:
        return "never pulled"
    when = record.started_at.isoformat(timespec="seconds")
    if record.status == "ok" and record.kind == "apple-mdm":
        return (
            f"asked {when}: {record.devices} devices for their apps (the answers arrive "
            f"through the webhook), {record.calls} calls"
        )
    if record.status == "ok":
        return (
            f"pulled {when}: {record.devices} devices ({record.created} new, "
            f"{record.skipped} skipped), {record.calls} calls"
        )
    if record.status == "running":
        return f"running since {when}"
    return f"failed {when}: {record.error}"


@app.command("pull")
def pull_now(
    name: Annotated[str, typer.Argument(help="The source's name in the sources file.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the pull's record as JSON.")
    ] = False,
) -> None:
    """Pull one source now through its MDM's API and import what it returns (all or
    nothing). Exits 1 if the pull failed, saying why."""
    with unit_of_work() as context:
        principal = acting_as(context, Permission.fleet)
        source = source_named(context.settings, name)
        clock = context.clock
    settings = get_settings()
    engine = make_engine(settings.database, pool_size=1)
    err = Console(stderr=True)
    try:
        pulling = Pulling(make_sessionmaker(engine), clock, settings, settings.audit_secret())
        with Progress(
            TextColumn(f"pulling {name}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=err, transient=True,
        ) as progress:  # fmt: skip
            task = progress.add_task("", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total or None)

            record = pull(pulling, source, actor=principal.actor, progress=advance)
    finally:
        engine.dispose()
    shown = PullRecord.of(record)
    if as_json:
        typer.echo(shown.model_dump_json(indent=2))
    else:
        typer.echo(f"{name}: {_outcome(shown)}")
    if record.status != "ok":
        raise typer.Exit(1)
