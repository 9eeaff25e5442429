"""Prometheus metrics at ``/metrics``, for operators.

Off unless ``APPWARDEN_METRICS_TOKEN`` is set; then Prometheus sends it as a bearer token
(``authorization: {credentials_file: ...}`` in its scrape config). Not public: the figures
(how many devices are compliant, which routes are busy) are about the organisation's fleet.

- ``appwarden_http_requests_total{method,route,status}`` and
  ``appwarden_http_request_duration_seconds{method,route}``: by route *template*
  (``/api/v1/determinations/{number}``), never the raw path, so a label cannot grow with ids.
- ``appwarden_devices{state,compliance}``: devices by state and overall compliance, read
  from the database at each scrape.

With several server processes (``appwarden serve --workers N``) a scrape reaches one of
them, so each process writes its counts to files in ``PROMETHEUS_MULTIPROC_DIR`` (set by
``serve``: prometheus_client's multiprocess mode) and every scrape adds up all of them.
"""

from __future__ import annotations

import hmac
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appwarden.api.deps import Context
from appwarden.compliance.reads import fleet_counts
from appwarden.errors import NotFound, Unauthenticated

UNMATCHED = "unmatched"
#: prometheus_client reads it when it is imported: set before the workers start.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
log = logging.getLogger("appwarden.metrics")


def route_template(scope: Scope) -> str:
    """The matched route's template with the prefix it was included under
    (``/api/v1`` + ``/devices/{device_id}``), or ``unmatched``. A route knows only its own
    part of the path, so the prefix is the literal head of the path its pattern follows."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str):
        return UNMATCHED
    path = str(scope.get("path", ""))
    if pattern is None:  # a mount: its own path is the template
        return template
    cut = 0
    while cut != -1:
        if pattern.match(path[cut:]):
            return path[:cut] + template
        cut = path.find("/", cut + 1)
    return template


class HttpMetrics:
    """Request counts and latency in a registry of this app's own (not the global one)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "appwarden_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "appwarden_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )


class MetricsMiddleware:
    """Counts and times each HTTP request under its matched route's template."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = route_template(scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(time.perf_counter() - started)


class FleetCollector(Collector):
    """Devices by state and overall compliance, read when Prometheus scrapes."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "appwarden_devices",
            "Devices by state and overall compliance (unjudged: not judged yet).",
            labels=["state", "compliance"],
        )
        try:
            with self.context.reading() as session:
                counts = fleet_counts(session)
        except Exception:  # noqa: BLE001 - a scrape reports what it can, and logs the rest
            log.exception("could not count devices for /metrics")
            counts = {}
        for (state, compliance), count in sorted(counts.items()):
            family.add_metric([state, compliance], count)
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())


def install(app: FastAPI, context: Context) -> None:
    """Serve ``/metrics`` (outside the OpenAPI document) if a metrics token is set."""
    secret = context.settings.metrics_token
    if secret is None:

        @app.get("/metrics", include_in_schema=False)
        def metrics_off() -> None:
            raise NotFound("metrics are off: set APPWARDEN_METRICS_TOKEN to turn them on")

        return
    token = secret.get_secret_value().encode()
    registry = CollectorRegistry(auto_describe=False)
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(registry))
    folder = os.environ.get(MULTIPROCESS_ENV)
    if folder:  # every process's counts, from their files; not only this one's
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    registry.register(FleetCollector(context))

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token):
            raise Unauthenticated("send the metrics token: Authorization: Bearer <token>")
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def share_between_processes(folder: Path) -> None:
    """Before starting several server processes: each will write its counts to files in
    ``folder`` (emptied first: counts of an earlier run are not this run's), and each
    scrape adds them up."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)
