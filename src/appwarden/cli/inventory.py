"""``appwarden inventory import KIND FILE``: import an MDM's inventory file as a signed-in
user (the same service, permission and audit as ``POST /api/v1/inventories/{kind}``).

All or nothing: on any error one line names the item at fault and nothing is imported.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from appwarden.audit.service import Acting
from appwarden.auth.roles import Permission
from appwarden.cli.acting import acting_as, unit_of_work
from appwarden.errors import Invalid, TooLarge
from appwarden.inventories.schemas import InventoryImported
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
