"""``appwarden demo``: a database with demo users, the 2023 publishers and apps, and real
vetting of any app files given. Used by `make run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from appwarden import demo, migrate
from appwarden.clock import SystemClock
from appwarden.config import get_settings
from appwarden.db import make_engine, make_sessionmaker


def run(
    apps: Annotated[
        Path | None, typer.Option(help="Vet the app files in this folder into the catalog.")
    ] = None,
    url: Annotated[str, typer.Option(help="The address to print.")] = "http://127.0.0.1:8000",
) -> None:
    """Set up demo data (once; running it again changes nothing) and print how to sign in."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database)
    migrate.upgrade(engine)
    sessions, clock, key = make_sessionmaker(engine), SystemClock(), settings.audit_secret()
    credentials_file = settings.data_dir / "demo-credentials.txt"
    with sessions() as session, session.begin():
        credentials = demo.seed_users(session, clock=clock, key=key)
        demo.seed_catalog(session, clock=clock, key=key)
        drafted = demo.seed_determinations(session, clock=clock, key=key, settings=settings)
    if credentials:
        demo.write_credentials(credentials_file, credentials)
    if drafted:
        typer.echo(f"drafted {drafted} demo determinations (publisher bans, not yet proposed)")
    if apps is not None and apps.is_dir():
        recorded, refused = demo.vet_folder(settings, sessions, clock=clock, key=key, folder=apps)
        if recorded or refused:
            typer.echo(f"vetted {recorded} app files into the catalog; refused {len(refused)}:")
            for reason in refused:
                typer.echo(f"  {reason}")
    elif apps is not None:
        typer.echo(f"no folder {apps}: the catalog has no assessments (none are invented)")
    engine.dispose()
    typer.echo(f"\nDemo users (also in {credentials_file}):")
    typer.echo(credentials_file.read_text(encoding="utf-8").rstrip())
    typer.echo("Approvers and admins also need a TOTP code from their secret (any TOTP app).")
    typer.echo(f"\nAppWarden: {url}/api/v1/docs  (sign in: POST {url}/api/v1/auth/token)")
