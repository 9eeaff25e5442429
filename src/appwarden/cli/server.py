"""``appwarden serve`` and ``appwarden db upgrade``."""

from __future__ import annotations

import copy
from typing import Annotated, Any

import typer

from appwarden import allocator
from appwarden.config import get_settings
from appwarden.openfiles import raise_open_files

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


#: Seconds a worker may take to answer the supervisor's health check. uvicorn kills a
#: worker that misses it (5 s by default). A worker busy with a ban reaching thousands of
#: devices can miss 5 s on a loaded machine; killing it drops every long-poll parked
#: there, and their reconnections load the others more.
WORKER_HEALTHCHECK_S = 60
#: Connections waiting to be accepted, per listening socket (one per worker, see
#: :mod:`appwarden.serving`); also how many a process accepts at once (asyncio accepts up
#: to this many per wake-up) before uvicorn counts them against its connection limit.
BACKLOG = 2048

#: Open files a server process keeps free beyond its connections: its database (SQLite
#: opens three files per connection: the database, its WAL, its shared memory), uploads,
#: logs, modules imported late; and room for one wake-up's accepts.
FILES_RESERVED = 1_000 + BACKLOG


def connection_limit(configured: int | None) -> int | None:
    """Connections one server process holds at once (``APPWARDEN_MAX_CONNECTIONS``, or
    its open-file limit less :data:`FILES_RESERVED`); past it, a new request gets 503.

    A parked long-poll holds a connection, so one open file, for minutes. Without a limit a
    worker that the kernel hands more connections than it has files for fails its database
    writes ("unable to open database file"), as a 100,000-device benchmark showed (77
    failed batches; with 1,000 files kept free, one, as a burst of accepts overshot). The
    soft open-file limit is raised to the hard one first (workers inherit it). None where
    there is no such limit to read (not a Unix)."""
    soft = raise_open_files()
    if soft is None:
        return configured
    fits = max(soft - FILES_RESERVED, 10)
    return fits if configured is None else min(configured, fits)


#: Each line of the server's log starts with its time and the process that wrote it: one
#: log holds every worker's lines, and a drill's trouble (refused connections, a slow
#: batch) is read against the drill's own times.
LINE_START = "%(asctime)s [%(process)d] "


def log_config() -> dict[str, Any]:
    """uvicorn's logging with :data:`LINE_START` on every line, and AppWarden's own
    messages (from INFO: wake-ups, scheduled pulls, slow batches) through the same
    handler, to standard error."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["fmt"] = LINE_START + formatter["fmt"]
    config["loggers"]["appwarden"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def _run_on_chosen_allocator(choice: allocator.Choice) -> None:
    """Start this process again on jemalloc when it is chosen and not yet in use (see
    :mod:`appwarden.allocator`); say which allocator the server runs on."""
    try:
        allocator.ensure(choice)
    except allocator.AllocatorUnavailable as error:
        typer.echo(f"appwarden: error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"appwarden: memory allocator: {allocator.in_use()}", err=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes sharing the port.")] = 1,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (a fleet's check-ins make many lines).")
    ] = True,
) -> None:
    """Run the server (the database is upgraded first)."""
    from appwarden import migrate, serving
    from appwarden.db import make_engine
    from appwarden.errors import DomainError
    from appwarden.inventories.pull.sources import load

    settings = get_settings()
    _run_on_chosen_allocator(settings.allocator)
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
    serving.run(
        "appwarden.asgi:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        access_log=access_log,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        limit_concurrency=connection_limit(settings.max_connections),
        backlog=BACKLOG,
        log_config=log_config(),
    )
