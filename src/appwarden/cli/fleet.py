"""``appwarden groups`` and ``appwarden devices``: the fleet from the command line.

Acting as the user of ``APPWARDEN_TOKEN``, through the same services as the API, so the
same role checks (``fleet`` to change, ``read`` to look) and audit events apply.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from appwarden.audit.service import Acting
from appwarden.auth.roles import Permission
from appwarden.cli.acting import CliContext, acting_as, unit_of_work
from appwarden.errors import Invalid
from appwarden.fleet import enrollment, service
from appwarden.fleet.models import Device
from appwarden.fleet.reads import device_detail, device_read, group_read
from appwarden.fleet.schemas import GroupRule

groups = typer.Typer(help="Device groups: static members, attribute rules, enrollment tokens.")
devices = typer.Typer(help="Managed devices: list, show, retire, report lost, revoke the key.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _acting(context: CliContext, permission: Permission) -> Acting:
    principal = acting_as(context, permission)
    return Acting(principal.actor, context.audit_key)


def _rule(
    platform: list[str] | None,
    ownership: list[str] | None,
    department: list[str] | None,
    supervised: bool | None,
) -> dict[str, Any] | None:
    given = {"platform": platform, "ownership": ownership, "department": department}
    conditions: dict[str, Any] = {k: v for k, v in given.items() if v}
    if supervised is not None:
        conditions["supervised"] = supervised
    if not conditions:
        return None
    try:
        return GroupRule.model_validate(conditions).stored()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise Invalid(f"rule {where}: {first['msg']}") from None


PlatformOption = Annotated[
    list[str] | None, typer.Option("--platform", help="Rule: android or ios; repeat for more.")
]
OwnershipOption = Annotated[
    list[str] | None,
    typer.Option("--ownership", help="Rule: corporate, byod or contractor; repeat for more."),
]
DepartmentOption = Annotated[
    list[str] | None, typer.Option("--department", help="Rule: a department; repeat for more.")
]
SupervisedOption = Annotated[
    bool | None, typer.Option("--supervised/--unsupervised", help="Rule: supervised or not.")
]


@groups.command("create")
def create_group(
    name: Annotated[str, typer.Argument(help='A unique name ("*" is reserved).')],
    description: Annotated[str, typer.Option(help="What the group is for.")] = "",
    platform: PlatformOption = None,
    ownership: OwnershipOption = None,
    department: DepartmentOption = None,
    supervised: SupervisedOption = None,
) -> None:
    """Add a device group; rule options make every matching device a member."""
    with unit_of_work() as context:
        group = service.create_group(
            context.session,
            clock=context.clock,
            acting=_acting(context, Permission.fleet),
            name=name,
            description=description,
            rule=_rule(platform, ownership, department, supervised),
        )
        line = f"created group {group.id}: {group.name}"
    typer.echo(line)


@groups.command("list")
def list_groups(as_json: JsonOption = False) -> None:
    """List device groups with their rules."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        session = context.session
        rows = [group_read(session, g) for g in session.scalars(service.groups_query())]
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    for row in rows:
        rule = json.dumps(row.rule, sort_keys=True) if row.rule else "-"
        typer.echo(f"{row.id}\t{row.name}\t{row.static_members} static\t{rule}")


@groups.command("add-member")
def add_member(group_id: int, device_id: str) -> None:
    """Put a device into a group by hand."""
    with unit_of_work() as context:
        group = service.add_member(
            context.session,
            clock=context.clock,
            acting=_acting(context, Permission.fleet),
            group_id=group_id,
            device_id=device_id,
        )
        line = f"device {device_id} is a member of {group.name}"
    typer.echo(line)


@groups.command("remove-member")
def remove_member(group_id: int, device_id: str) -> None:
    """Take a device out of a group's static members."""
    with unit_of_work() as context:
        group = service.remove_member(
            context.session,
            clock=context.clock,
            acting=_acting(context, Permission.fleet),
            group_id=group_id,
            device_id=device_id,
        )
        line = f"device {device_id} is no longer a static member of {group.name}"
    typer.echo(line)


@groups.command("token")
def create_token(
    group_id: int,
    hours: Annotated[int, typer.Option(min=1, max=24 * 90, help="Valid for this long.")] = 72,
    uses: Annotated[int, typer.Option(min=1, max=100_000, help="Devices it may enroll.")] = 1,
) -> None:
    """Create an enrollment token for a group and print it (shown once)."""
    with unit_of_work() as context:
        token, clear = enrollment.create_token(
            context.session,
            clock=context.clock,
            acting=_acting(context, Permission.fleet),
            group_id=group_id,
            expires_in=timedelta(hours=hours),
            max_uses=uses,
        )
        expires = token.expires_at.isoformat()
    typer.echo(clear)
    typer.echo(f"enrollment token {token.id}: {uses} use(s), expires {expires}", err=True)


@groups.command("revoke-token")
def revoke_token(token_id: int) -> None:
    """Revoke an enrollment token: it enrolls no more devices (those it enrolled stay)."""
    with unit_of_work() as context:
        token = enrollment.revoke_token(
            context.session,
            clock=context.clock,
            acting=_acting(context, Permission.fleet),
            token_id=token_id,
        )
        uses = token.uses
    typer.echo(f"enrollment token {token_id}: revoked after {uses} use(s)")


@devices.command("list")
def list_devices(
    group: Annotated[int | None, typer.Option(help="Members of this group.")] = None,
    platform: Annotated[str | None, typer.Option(help="android or ios.")] = None,
    ownership: Annotated[str | None, typer.Option(help="corporate, byod or contractor.")] = None,
    state: Annotated[str | None, typer.Option(help="active, retired or lost.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List devices."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        query = service.devices_query(
            context.session, group_id=group, platform=platform, ownership=ownership, state=state
        )
        rows = [device_read(d) for d in context.session.scalars(query)]
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    for row in rows:
        who = row.user_name or "-"
        typer.echo(f"{row.id}\t{row.platform}\t{row.ownership}\t{row.state}\t{who}")


@devices.command("show")
def show_device(device_id: str) -> None:
    """Show a device with its groups, as JSON."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        device = service.get_device(context.session, device_id=device_id)
        text = device_detail(context.session, device).model_dump_json(indent=2)
    typer.echo(text)


Change = Callable[..., Device]


def _change(device_id: str, action: Change, done: str) -> None:
    with unit_of_work() as context:
        device = action(
            context.session,
            clock=context.clock,
            acting=_acting(context, Permission.fleet),
            device_id=device_id,
        )
        line = f"device {device.id}: {done} (state {device.state})"
    typer.echo(line)


@devices.command("retire")
def retire(device_id: str) -> None:
    """Retire a device for good."""
    _change(device_id, service.retire, "retired")


@devices.command("lost")
def lost(device_id: str) -> None:
    """Report a device lost."""
    _change(device_id, service.report_lost, "reported lost")


@devices.command("revoke-key")
def revoke_key(device_id: str) -> None:
    """Forget the device's key; it must re-enroll with a new token."""
    _change(device_id, service.revoke_key, "key revoked")
