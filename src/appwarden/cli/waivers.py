"""``appwarden waivers``: request, approve, revoke and list waivers, as a signed-in user.

The same service functions as the API: a waiver names devices or users, carries a reason
from the closed list, and is approved by someone other than its requester.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from appwarden.auth.roles import Permission
from appwarden.cli.acting import acting_as, unit_of_work
from appwarden.decisions import service as decisions
from appwarden.errors import Invalid
from appwarden.waivers import service
from appwarden.waivers.schemas import WaiverCreate

app = typer.Typer(help="Waivers: exceptions to a determination for named devices or users.")


def _body(source: Path) -> WaiverCreate:
    text = typer.get_text_stream("stdin").read() if str(source) == "-" else source.read_text()
    try:
        return WaiverCreate.model_validate(json.loads(text))
    except json.JSONDecodeError as error:
        raise Invalid(f"{source}: not JSON: {error}") from None
    except ValidationError as error:
        problems = (f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise Invalid("; ".join(problems)) from None


@app.command("request")
def request(
    determination_id: Annotated[int, typer.Argument(help="The determination in force.")],
    source: Annotated[Path, typer.Argument(help="JSON body as for the API ('-': stdin).")],
) -> None:
    """Ask for a waiver (devices or users, reason, justification, mitigations, expiry)."""
    with unit_of_work() as context:
        principal = acting_as(context, Permission.request_waiver)
        acting = decisions.Acting(
            context.session, context.clock, context.audit_key, context.settings, principal
        )
        waiver = service.request(acting, determination_id, _body(source))
        number = waiver.id
    typer.echo(f"requested waiver {number} (awaiting approval by another user)")


def _decide(waiver_id: int, note: str | None, *, revoke: bool) -> str:
    with unit_of_work() as context:
        principal = acting_as(context, Permission.approve_waiver)
        acting = decisions.Acting(
            context.session, context.clock, context.audit_key, context.settings, principal
        )
        if revoke:
            service.revoke(acting, waiver_id, note=note or "revoked")
            return "revoked"
        service.approve(acting, waiver_id, note=note)
        return "approved"


@app.command("approve")
def approve(
    waiver_id: Annotated[int, typer.Argument(help="Waiver id.")],
    note: Annotated[str | None, typer.Option(help="Kept with the decision.")] = None,
) -> None:
    """Approve a waiver (not one's own request)."""
    typer.echo(f"waiver {waiver_id}: {_decide(waiver_id, note, revoke=False)}")


@app.command("revoke")
def revoke(
    waiver_id: Annotated[int, typer.Argument(help="Waiver id.")],
    note: Annotated[str, typer.Option(help="Why it is revoked.")],
) -> None:
    """Revoke a waiver: it stops applying at once."""
    typer.echo(f"waiver {waiver_id}: {_decide(waiver_id, note, revoke=True)}")


@app.command("list")
def list_(
    determination: Annotated[int | None, typer.Option(help="Only this determination's.")] = None,
) -> None:
    """Waivers with their state now (requested, active, expired, revoked)."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        now = context.clock.now()
        rows = [
            service.read(context.session, w, now=now)
            for w in context.session.scalars(service.query(now=now, determination_id=determination))
        ]
    for row in rows:
        typer.echo(json.dumps(row.model_dump(mode="json"), sort_keys=True))
