"""Device routes that report: ``POST /v1/state`` and ``POST /v1/install-check``.

A device writes only its own state: the device is the one that signed the request, never
one named in the body. A body over 1 MiB is refused with 413 before it is read whole or
parsed (Content-Length first, then counted as it arrives).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from appwarden.api.deps import Context, ContextDep
from appwarden.api.limits import capped as limited
from appwarden.api.problems import problems
from appwarden.compliance import intake, webhook
from appwarden.compliance.wire import (
    MAX_REPORT_BYTES,
    InstallCheck,
    InstallDecision,
    StateAccepted,
    StateReport,
)
from appwarden.errors import Unauthenticated
from appwarden.protocol.v1.batching import DeviceWrites, SignedReport
from appwarden.protocol.v1.routing import DeviceRoute, json_body, served_by, text
from appwarden.protocol.v1.signing import (
    DeviceDep,
    SignedDep,
    authenticate_device,
    refuse,
    signed_request,
)
from appwarden.protocol.v1.views import PREFIX

DEVICE_ROUTE = {"x-device": True}


def _capped(request: Request) -> Request:
    """``request`` reading at most :data:`MAX_REPORT_BYTES` of body, else 413."""
    return limited(request, MAX_REPORT_BYTES)


class CappedBodyRoute(DeviceRoute):
    """Refuse a body over :data:`MAX_REPORT_BYTES` before parsing it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def capped(request: Request) -> Response:
            inner = _capped(request)
            try:
                return await handler(inner)
            except RequestValidationError:
                # A route that checks the signature with its work (POST /v1/state) has not
                # checked it yet: a malformed body from a forged request is a 401, and
                # audited, as on every other device route.
                if getattr(inner.state, "device", None) is None:
                    await authenticate_device(inner)
                raise

        return capped


router = APIRouter(prefix=PREFIX, tags=["device protocol v1"], route_class=CappedBodyRoute)


async def _state_arguments(request: Request) -> dict[str, Any]:
    """:func:`report_state`'s arguments, read as FastAPI would (see routing): the body
    (413 past the cap, 422 if it is not text), then the signature's form (401), then the
    body's form (422; after checking the signature, so a forged malformed request is a
    401, as above)."""
    capped = _capped(request)
    raw = await capped.body()
    text(raw)
    signed = await signed_request(capped)
    try:
        report = json_body(StateReport, raw, capped.headers.get("content-type"))
    except RequestValidationError:
        await authenticate_device(capped)
        raise
    return {"body": report, "signed": signed, "request": capped, "background": BackgroundTasks()}


@router.post("/state", responses=problems(401, 409, 413, 422), openapi_extra=DEVICE_ROUTE)
@served_by(_state_arguments)  # below: the route is built when router.post is applied
async def report_state(
    body: StateReport,
    signed: SignedDep,
    request: Request,
    background: BackgroundTasks,
) -> StateAccepted:
    """Record the signing device's applied policy version, installed apps (full, or a
    delta against the hash the server holds) and events. Idempotent by ``report_id``."""
    # The context and the raw body from the request rather than as dependencies: every
    # device reports, and each dependency FastAPI resolves costs more than these lookups.
    context: Context = request.app.state.context
    writes: DeviceWrites = request.app.state.device_writes
    report = SignedReport(body, signed.body_sha256)  # the digest the signature covers
    # The signature is checked and the report recorded in one transaction, with other
    # devices' requests (protocol.v1.batching), even if the device gives up waiting: what
    # it reports is its state, and its retry (the same report id) then finds it recorded.
    try:
        accepted = await writes.signed_report(signed, report)
    except Unauthenticated as refused:
        await refuse(request, refused)
        raise
    if context.settings.compliance_webhook_url:
        # Runs after the response, so after this request's transaction committed.
        background.add_task(webhook.deliver_due, context.sessions, context.settings, context.clock)
    return accepted


@router.post("/install-check", responses=problems(401, 413, 422), openapi_extra=DEVICE_ROUTE)
def install_check(body: InstallCheck, device: DeviceDep, context: ContextDep) -> InstallDecision:
    """May the signing device install this app now? Decided on its current policy."""
    with context.sessions() as session, session.begin():
        return intake.check_install(session, device, body, now=context.clock.now())
