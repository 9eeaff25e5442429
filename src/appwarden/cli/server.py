"""``appwarden serve`` and ``appwarden db upgrade``."""

from __future__ import annotations

from typing import Annotated

import typer

from appwarden.config import get_settings

app = typer.Typer(help="The database: create or upgrade its schema.")


@app.command("upgrade")
def upgrade() -> None:
    """Bring the database to the newest schema (safe to run again)."""
    from appwarden import migrate
    from appwarden.db import make_engine

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database)
    migrate.upgrade(engine)
    typer.echo(f"database at revision {migrate.current(engine)}: {engine.url.render_as_string()}")


#: Seconds a worker may take to answer the supervisor's health check (see ``serve``).
WORKER_HEALTHCHECK_S = 60


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes sharing the port.")] = 1,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (a fleet's check-ins make many lines).")
    ] = True,
) -> None:
    """Run the server (the database is upgraded first)."""
    import uvicorn

    from appwarden import migrate
    from appwarden.db import make_engine
    from appwarden.errors import DomainError
    from appwarden.inventories.pull.sources import load

    settings = get_settings()
    try:
        load(settings.inventory_sources)  # refused here, in one line, not by each worker
    except DomainError as error:
        typer.echo(f"appwarden: error: {error.detail}", err=True)
        raise typer.Exit(1) from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(make_engine(settings.database))
    if workers > 1 and settings.metrics_token is not None:
        from appwarden.metrics import share_between_processes

        share_between_processes(settings.data_dir / "metrics")
    uvicorn.run(
        "appwarden.asgi:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        access_log=access_log,
        # With several workers, uvicorn's supervisor kills a worker that does not answer
        # its ping within this many seconds (5 by default). A worker busy with a ban
        # reaching thousands of devices can miss 5 s on a loaded machine; killing it drops
        # every long-poll parked there, and their reconnections load the others more.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )
