"""``appwarden users``: create users (the first admin without a token)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from sqlalchemy import func, select

from appwarden.audit import service as audit
from appwarden.auth import service
from appwarden.auth.models import SignInFailure, User
from appwarden.auth.roles import Permission, Role
from appwarden.auth.service import SYSTEM
from appwarden.cli.acting import acting_as, unit_of_work

app = typer.Typer(help="Users and their roles.")


@app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[Role, typer.Option(help="analyst, approver, operator, auditor or admin.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user. The very first user must be an admin and needs no token; after
    that, an admin's APPWARDEN_TOKEN is required."""
    password = (
        typer.get_text_stream("stdin").readline().rstrip("\n")
        if password_stdin
        else getpass.getpass(f"password for {username}: ")
    )
    with unit_of_work() as context:
        first = not context.session.scalar(select(func.count()).select_from(User))
        if first and role is not Role.admin:
            typer.echo("appwarden: error: the first user must be an admin", err=True)
            raise typer.Exit(1)
        actor = SYSTEM if first else acting_as(context, Permission.admin)
        user, secret = service.create_user(
            context.session,
            clock=context.clock,
            username=username,
            display_name=name or username,
            role=role,
            password=password,
        )
        audit.append(
            context.session,
            key=context.audit_key,
            clock=context.clock,
            actor=actor.actor,
            action="user.create",
            object_type="user",
            object_id=user.id,
            after={"username": user.username, "role": user.role},
        )
    typer.echo(f"created {role.value} {username} (id {user.id})")
    if secret:
        typer.echo(f"TOTP secret (enrol it in an authenticator app; shown once): {secret}")


def login(
    username: Annotated[str, typer.Argument(help="Your user name.")],
    totp: Annotated[
        str | None, typer.Option(help="Second-factor code (approvers, admins).")
    ] = None,
    days: Annotated[int | None, typer.Option(help="Token lifetime in days.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Sign in and print an API token: `export APPWARDEN_TOKEN=$(appwarden login NAME)`."""
    password = (
        typer.get_text_stream("stdin").readline().rstrip("\n")
        if password_stdin
        else getpass.getpass(f"password for {username}: ")
    )
    try:
        with unit_of_work() as context:
            user = service.check_credentials(
                context.session,
                clock=context.clock,
                username=username,
                password=password,
                totp=totp,
                limit=context.settings.sign_in_limit,
            )
            token, clear = service.issue_token(
                context.session,
                clock=context.clock,
                user=user,
                name="cli",
                days=days or context.settings.token_days,
            )
            audit.append(
                context.session,
                key=context.audit_key,
                clock=context.clock,
                actor=user.username,
                action="token.issue",
                object_type="token",
                object_id=token.id,
                after={"name": token.name, "expires_at": token.expires_at.isoformat()},
            )
    except typer.Exit:
        with unit_of_work() as context:  # a failed sign-in counts toward the limit
            context.session.add(SignInFailure(username=username, at=context.clock.now()))
        raise
    typer.echo(clear)
