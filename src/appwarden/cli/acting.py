"""CLI commands that change state act as a signed-in user, like the API.

The token comes from ``APPWARDEN_TOKEN`` (issued by ``POST /api/v1/auth/token`` or
``appwarden login``); the same role checks and audit events apply, so the command line
is no way around separation of duties.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import typer
from sqlalchemy.orm import Session

from appwarden.auth.roles import Permission, allows
from appwarden.auth.service import Principal, principal_for_token
from appwarden.clock import Clock, SystemClock
from appwarden.config import Settings, get_settings
from appwarden.db import make_engine, make_sessionmaker
from appwarden.errors import DomainError, Forbidden, Unauthenticated


@dataclass
class CliContext:
    settings: Settings
    clock: Clock
    session: Session
    audit_key: bytes


@contextmanager
def unit_of_work() -> Iterator[CliContext]:
    """One command, one transaction; a domain error is one line on stderr and exit 1."""
    settings = get_settings()
    engine = make_engine(settings.database, pool_size=1)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            yield CliContext(settings, SystemClock(), session, settings.audit_secret())
    except DomainError as error:
        typer.echo(f"appwarden: error: {error.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def acting_as(context: CliContext, permission: Permission) -> Principal:
    """The principal of ``APPWARDEN_TOKEN``, if its role has ``permission``."""
    token = os.environ.get("APPWARDEN_TOKEN", "").strip()
    if not token:
        raise Unauthenticated("set APPWARDEN_TOKEN to an API token (see docs/cli.md)")
    principal = principal_for_token(context.session, clock=context.clock, clear=token)
    if not allows(principal.role, permission):
        raise Forbidden(f"the {principal.role.value} role may not {permission.value}")
    return principal
