"""``appwarden determinations impact``: the impact preview, as a signed-in user."""

from __future__ import annotations

from typing import Annotated

import typer

from appwarden.auth.roles import Permission
from appwarden.cli.acting import acting_as, unit_of_work
from appwarden.compliance.impact import impact as preview


def impact(
    determination_id: Annotated[int, typer.Argument(help="Determination id (any status).")],
    as_json: Annotated[bool, typer.Option("--json", help="The API's JSON document.")] = False,
) -> None:
    """How many devices in the determination's scope hold its target now, by group and
    department (from their last reported inventories)."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        result = preview(context.session, determination_id)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    typer.echo(
        f"determination {determination_id}: {result.holding} of {result.in_scope} devices in "
        f"scope hold the target ({result.reported} reported an inventory)"
    )
    for title, buckets in (("group", result.by_group), ("department", result.by_department)):
        for bucket in buckets:
            typer.echo(f"{title}\t{bucket.name}\t{bucket.holding}/{bucket.in_scope}")
