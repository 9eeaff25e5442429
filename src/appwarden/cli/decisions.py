"""``appwarden determinations``: the same service functions as the API, as a signed-in user.

Every command acts with ``APPWARDEN_TOKEN`` and the role checks, separation of duties and
audit events of the API: the command line is no way around them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import ValidationError

from appwarden.auth.roles import Permission
from appwarden.auth.service import SYSTEM, Principal
from appwarden.cli.acting import CliContext, acting_as, unit_of_work
from appwarden.decisions import notices, reads, service
from appwarden.decisions.lifecycle import Status, lifecycle
from appwarden.decisions.schemas import DeterminationCreate, DeterminationRead
from appwarden.decisions.transitions import TransitionRequest, perform
from appwarden.errors import Invalid

app = typer.Typer(
    help="Determinations: draft, propose, notify, decide, review.", no_args_is_help=True
)

IdArg = Annotated[int, typer.Argument(help="Determination id.")]
NoteOpt = Annotated[str | None, typer.Option(help="The reason, kept in the timeline.")]


def _acting(context: CliContext, principal: Principal) -> service.Acting:
    return service.Acting(
        context.session, context.clock, context.audit_key, context.settings, principal
    )


def _date(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"--{name.replace('_', '-')}: not an ISO 8601 date: {value!r}") from None
    if moment.tzinfo is None:
        raise Invalid(f"--{name.replace('_', '-')}: give a time zone, e.g. {value}+00:00")
    return moment


def _line(d: DeterminationRead) -> str:
    target = d.target
    what = target.get("publisher") or target.get("app_id") or target.get("pattern")
    what = what or target.get("sha256") or target.get("publisher_id")
    return f"{d.id}\t{d.status}\t{d.action}\t{target['kind']}:{what}\t{d.title}"


@app.command("list")
def list_(
    status: Annotated[Status | None, typer.Option(help="Effective status.")] = None,
    action: Annotated[str | None, typer.Option(help="ban, block, allow or monitor.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines.")] = False,
) -> None:
    """List determinations: id, status (effective), action, target, title."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        now = context.clock.now()
        query = service.query(now=now, status=status, action=action)
        rows = [reads.read(context.session, d, now=now) for d in context.session.scalars(query)]
    for row in rows:
        typer.echo(row.model_dump_json() if as_json else _line(row))


@app.command("show")
def show(determination_id: IdArg) -> None:
    """Everything about one determination, as JSON (the API's document)."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        found = service.get(context.session, determination_id)
        detail = reads.detail(context.session, found, now=context.clock.now())
    typer.echo(json.dumps(detail.model_dump(mode="json"), indent=2))


def _body(source: Path, overrides: dict[str, Any]) -> DeterminationCreate:
    text = typer.get_text_stream("stdin").read() if str(source) == "-" else source.read_text()
    try:
        data = json.loads(text)
        return DeterminationCreate.model_validate({**data, **overrides})
    except json.JSONDecodeError as error:
        raise Invalid(f"{source}: not JSON: {error}") from None
    except ValidationError as error:
        raise Invalid("; ".join(_problem(e) for e in error.errors())) from None


def _problem(error: Any) -> str:
    return f"{'.'.join(map(str, error.get('loc', ())))}: {error.get('msg', '')}"


@app.command("create")
def create(
    source: Annotated[
        Path, typer.Argument(help="A JSON file with the API's create body ('-': stdin).")
    ],
    title: Annotated[str | None, typer.Option(help="Override the title.")] = None,
) -> None:
    """Create a draft from the same JSON body as POST /api/v1/determinations."""
    with unit_of_work() as context:
        principal = acting_as(context, Permission.propose)
        body = _body(source, {"title": title} if title else {})
        created = service.create(_acting(context, principal), body)
        number = created.id
    typer.echo(f"created draft determination {number}")


def _transition(
    determination_id: int, action: str, request: Callable[[], TransitionRequest]
) -> None:
    """Do ``action``; ``request`` is built inside the unit of work, so bad dates are one
    line on stderr like every other refusal."""
    with unit_of_work() as context:
        principal = acting_as(context, lifecycle().permission_of(action))
        done = perform(_acting(context, principal), determination_id, action, request())
        status, interim = done.status, done.interim
    flag = " (interim)" if interim else ""
    typer.echo(f"determination {determination_id}: {action} done, now {status}{flag}")


@app.command("propose")
def propose(determination_id: IdArg, note: NoteOpt = None) -> None:
    """Propose a draft for decision."""
    _transition(determination_id, "propose", lambda: TransitionRequest(note=note))


@app.command("send-notice")
def send_notice(
    determination_id: IdArg,
    reply_deadline: Annotated[
        str | None, typer.Option(help="ISO 8601; default now + APPWARDEN_REPLY_WINDOW_DAYS.")
    ] = None,
    note: NoteOpt = None,
) -> None:
    """Send the vendor notice (freezes it) and open the reply window."""
    _transition(
        determination_id,
        "send_notice",
        lambda: TransitionRequest(note, _date(reply_deadline, "reply_deadline")),
    )


@app.command("approve")
def approve(
    determination_id: IdArg,
    interim: Annotated[bool, typer.Option(help="Urgent: in force now, notice to follow.")] = False,
    reply_considered: Annotated[
        bool, typer.Option(help="Say the vendor's reply was read and considered.")
    ] = False,
    note: NoteOpt = None,
) -> None:
    """Approve: after the reply deadline, or at once with --interim (a note required)."""
    action = "approve_interim" if interim else "approve"
    request = TransitionRequest(note=note, reply_considered=reply_considered)
    _transition(determination_id, action, lambda: request)


@app.command("confirm")
def confirm(
    determination_id: IdArg,
    reply_considered: Annotated[bool, typer.Option()] = False,
    note: NoteOpt = None,
) -> None:
    """Confirm an interim measure after its notice's reply deadline."""
    request = TransitionRequest(note=note, reply_considered=reply_considered)
    _transition(determination_id, "confirm", lambda: request)


@app.command("reject")
def reject(determination_id: IdArg, note: Annotated[str, typer.Option(help="Why.")]) -> None:
    """Reject a proposal (proposed or under notice)."""
    _transition(determination_id, "reject", lambda: TransitionRequest(note=note))


@app.command("rescind")
def rescind(determination_id: IdArg, note: Annotated[str, typer.Option(help="Why.")]) -> None:
    """Rescind a determination in force."""
    _transition(determination_id, "rescind", lambda: TransitionRequest(note=note))


@app.command("renew")
def renew(
    determination_id: IdArg,
    review_at: Annotated[str, typer.Option(help="The next review date, ISO 8601.")],
    expires_at: Annotated[str | None, typer.Option(help="A new end date, ISO 8601.")] = None,
    note: NoteOpt = None,
) -> None:
    """On review: keep a determination in force, with a new review (and end) date."""
    _transition(
        determination_id,
        "renew",
        lambda: TransitionRequest(
            note=note,
            review_at=_date(review_at, "review_at"),
            expires_at=_date(expires_at, "expires_at"),
        ),
    )


@app.command("reply")
def reply(
    determination_id: IdArg,
    source: Annotated[Path, typer.Argument(help="A file with the reply's text ('-': stdin).")],
    received_at: Annotated[str, typer.Option(help="When it arrived, ISO 8601.")],
    sender: Annotated[str | None, typer.Option(help="Who sent it.")] = None,
) -> None:
    """Record the vendor's reply to the notice."""
    text = typer.get_text_stream("stdin").read() if str(source) == "-" else source.read_text()
    with unit_of_work() as context:
        principal = acting_as(context, Permission.propose)
        received = _date(received_at, "received_at")
        assert received is not None  # noqa: S101 (a required option)
        service.record_reply(
            _acting(context, principal), determination_id, text=text, received_at=received,
            sender=sender,
        )  # fmt: skip
    typer.echo(f"determination {determination_id}: reply recorded")


@app.command("notice")
def notice(
    determination_id: IdArg,
    fmt: Annotated[Literal["md", "html"], typer.Option("--format")] = "md",
    out: Annotated[Path | None, typer.Option(help="Write to this file (default stdout).")] = None,
) -> None:
    """Print the vendor notice: as sent, or a marked draft before it is sent."""
    with unit_of_work() as context:
        acting_as(context, Permission.read)
        found = service.get(context.session, determination_id)
        stored = found.notice_markdown if fmt == "md" else found.notice_html
        if stored is None:
            built = notices.build(
                context.session, found, now=context.clock.now(),
                window_days=context.settings.reply_window_days,
            )  # fmt: skip
            stored = notices.markdown(built) if fmt == "md" else notices.html(built)
    if out is None:
        typer.echo(stored, nl=False)
    else:
        out.write_text(stored, encoding="utf-8")
        typer.echo(f"wrote {out}")


@app.command("expire")
def expire() -> None:
    """Record ``expire`` (as system) for every determination past its end date. They stop
    applying at that moment anyway; this keeps the stored status and timeline in step.
    Safe to run from cron; needs no token."""
    with unit_of_work() as context:
        done = service.expire_lapsed(_acting(context, SYSTEM))
    typer.echo(
        f"expired {len(done)} determination(s){': ' if done else ''}" + ", ".join(map(str, done))
    )
