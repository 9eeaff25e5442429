"""``create_app(settings)``: the web application, assembled from the domain routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI
from fastapi.telemetry import TelemetryConfig
from sqlalchemy.orm import Session, sessionmaker

from appwarden import __version__, console, diagnostics, metrics
from appwarden.api.deps import Context, authenticated
from appwarden.api.limits import BodyLimit
from appwarden.api.problems import PROBLEM_MEDIA, Problem, install_problem_handlers, problems
from appwarden.catalog.blobs import sweep_staging
from appwarden.clock import Clock, SystemClock
from appwarden.config import Settings
from appwarden.db import make_engine, make_sessionmaker
from appwarden.memory import Trimmer

API = "/api/v1"
#: FastAPI's own OpenTelemetry, off (see Settings.opentelemetry).
NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


def _protected_routers() -> list[APIRouter]:
    from appwarden.audit.views import router as audit
    from appwarden.auth.views import router as auth
    from appwarden.catalog.views import router as catalog
    from appwarden.compliance.views import router as compliance
    from appwarden.compliance_report.views import router as reports
    from appwarden.decisions.views import router as determinations
    from appwarden.exports.views import router as exports
    from appwarden.fleet.views import router as fleet
    from appwarden.inventories.pull.views import router as pulls
    from appwarden.inventories.views import router as inventories
    from appwarden.partners.views import router as partners
    from appwarden.waivers.views import router as waivers

    return [
        *(auth, audit, catalog, determinations, waivers, fleet, compliance, exports),
        *(partners, reports, pulls, inventories),
    ]


def _public_routers() -> list[APIRouter]:
    from appwarden.auth.views import public as sign_in
    from appwarden.inventories.pull.webhook import public as mdm_webhook

    return [sign_in, mdm_webhook]


def _mount_device_protocol(app: FastAPI) -> None:
    """The device protocol, on purpose outside the REST API and its user tokens: devices
    authenticate by signing each request (see :mod:`appwarden.protocol.v1.signing`)."""
    from appwarden.protocol.v1 import routing
    from appwarden.protocol.v1.reports import router as reports
    from appwarden.protocol.v1.views import router

    routing.mount(app, [*router.routes, *reports.routes])


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the process's policy distributor (recompiles, wakes long-polls) and its memory
    trimmer (:mod:`appwarden.memory`); stop the distributor last, then record the device
    requests still queued (:mod:`appwarden.protocol.v1.batching`)."""
    distributor = app.state.distributor
    # Few threads: handlers are short and share one GIL (and, on SQLite, one write lock);
    # forty threads mostly wait on each other and stretch every transaction.
    to_thread.current_default_thread_limiter().total_tokens = app.state.context.settings.threads
    # Uploads a killed process left half-spooled (other processes' uploads are locked).
    await to_thread.run_sync(sweep_staging, app.state.context.settings.blobs_dir)
    await distributor.start()
    await app.state.pulls.start()
    trimming = asyncio.create_task(app.state.trimmer.run(), name="appwarden-memory-trim")
    censused = diagnostics.install(app.state.context.settings.heap_census_dir)
    try:
        yield
    finally:
        if censused:
            diagnostics.uninstall()
        trimming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await trimming  # a trim under way finishes first (a few milliseconds)
        await app.state.pulls.stop()
        await distributor.stop()
        await app.state.device_writes.stop()
        readers = app.state.context.readers
        if readers is not None:
            readers.kw["bind"].dispose()


def _readers(settings: Settings) -> sessionmaker[Session] | None:
    """On SQLite, sessions that read a snapshot without taking the write lock."""
    if not settings.database.startswith("sqlite"):
        return None
    return make_sessionmaker(make_engine(settings.database, readonly=True))


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """Build the app for ``settings``; nothing is created at import time."""
    from appwarden.inventories.pull.runner import Pulling
    from appwarden.inventories.pull.schedule import Schedule
    from appwarden.protocol.v1.batching import DeviceWrites
    from appwarden.protocol.v1.enrolling import Enroller
    from appwarden.protocol.v1.wakeups import Distributor

    engine = make_engine(settings.database, pool_size=settings.db_pool_size)
    app = FastAPI(
        lifespan=_lifespan,
        title="AppWarden",
        version=__version__,
        description="Vet, ban, enforce and prove: the AppWarden REST API.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
        # Off unless asked for: FastAPI otherwise looks up the OpenTelemetry providers on
        # every request, which a fleet's check-ins pay for (docs/benchmarks.md).
        telemetry=None if settings.opentelemetry else NO_TELEMETRY,
    )
    app.state.context = Context(
        settings=settings,
        clock=clock or SystemClock(),
        engine=engine,
        sessions=make_sessionmaker(engine),
        audit_key=settings.audit_secret(),
        readers=_readers(settings),
    )
    app.state.distributor = Distributor(app.state.context)
    app.state.device_writes = DeviceWrites(app.state.context)
    app.state.distributor.busy = app.state.device_writes.busy
    app.state.enroller = Enroller(app.state.context)
    app.state.trimmer = Trimmer(
        # Reports and enrollments come in bursts; check-ins never stop (a parked fleet
        # renews its long-polls all the time), so they do not count.
        activity=lambda: app.state.device_writes.report_batches + app.state.enroller.batches,
        busy=app.state.device_writes.busy,
    )
    app.state.pulls = Schedule(Pulling.of(app.state.context))
    install_problem_handlers(app)
    # Routes are matched in order: the fleet's hot paths (device protocol, health) first,
    # so a check-in does not test every REST route before its own.
    _mount_device_protocol(app)
    _add_health(app)
    protected = {"dependencies": [Depends(authenticated)], "responses": problems(401, 403)}
    for router in _protected_routers():
        app.include_router(router, prefix=API, **protected)  # type: ignore[arg-type]
    for router in _public_routers():
        app.include_router(router, prefix=API)
    metrics.install(app, app.state.context)
    app.add_middleware(BodyLimit, limit=settings.body_max_bytes)
    # The console last: its error pages wrap the API's problem handlers for its own paths.
    console.mount(app)
    _document_problems(app)
    return app


def _document_problems(app: FastAPI) -> None:
    """Every error in the OpenAPI document is a problem document, 422s included (FastAPI
    would describe its validation errors as plain JSON, which is not what we send)."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema()
        reference = {"schema": {"$ref": "#/components/schemas/Problem"}}
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                for status, response in operation.get("responses", {}).items():
                    if status.startswith(("4", "5")):
                        response["content"] = {PROBLEM_MEDIA: reference}
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"], openapi_extra={"x-public": True})
    def health() -> dict[str, str]:
        """Liveness for load balancers. Public on purpose: it reveals nothing."""
        return {"status": "ok", "version": __version__}
