"""``POST /inventories/sources/{name}/webhook``: an Apple MDM server's webhook (MicroMDM's
event format, which NanoMDM sends too), where devices' answers to the
``InstalledApplicationList`` command a pull enqueued (:mod:`.apple`) arrive.

Public on purpose — the MDM server holds no AppWarden token — but authenticated with the
source's webhook secret (``webhook_secret_file``): as the password of HTTP Basic (any user
name; MicroMDM and NanoMDM send the credentials of a ``https://user:secret@host/…`` URL),
or as ``X-Hmac-Signature``, the base64 HMAC-SHA256 of the body keyed with the secret. A
refusal is audited (aggregated, :mod:`appwarden.audit.refusals`).

An ``mdm.Connect`` event whose acknowledged answer (``raw_payload``, a base64 property
list) lists installed applications is imported as a file of kind ``apple-mdm`` would be,
as ``webhook:NAME``, in one transaction, taken at the event's time. Every other event is
answered 200 and ignored: MDM servers send every check-in and command answer, and retry
what is not 2xx. A bad event (not JSON, bad base64, not a property list, too large) is a
4xx problem and imports nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import plistlib
from datetime import UTC, datetime
from typing import Annotated, Any
from xml.parsers.expat import ExpatError

from fastapi import APIRouter, Depends, Request

from appwarden.api.deps import ContextDep, client_address
from appwarden.api.problems import problems
from appwarden.audit.refusals import WEBHOOK_REFUSED, Refusal
from appwarden.audit.service import Acting
from appwarden.catalog.http import CappedUploadRoute
from appwarden.config import Settings
from appwarden.errors import DomainError, Invalid, NotFound, TooLarge, Unauthenticated
from appwarden.inventories.documents import InventoryError
from appwarden.inventories.pull.sources import AppleMdmSource, load, secret
from appwarden.inventories.schemas import WebhookOutcome
from appwarden.inventories.service import Defaults, import_inventory

log = logging.getLogger(__name__)
#: The audit actor of imports through a webhook is this prefix and the source's name.
WEBHOOK_ACTOR = "webhook:"
#: Room for the event around its base64 payload.
EVENT_OVERHEAD = 64 * 1024


class Unavailable(DomainError):
    status, kind, title = 503, "unavailable", "Service unavailable"


class CappedWebhookRoute(CappedUploadRoute):
    """The body cap: an inventory of ``inventory_max_bytes``, in base64, and its event."""

    limit_setting = "inventory_max_bytes"
    overhead = EVENT_OVERHEAD

    @classmethod
    def body_limit(cls, settings: object) -> int:
        return _encoded(int(getattr(settings, cls.limit_setting))) + cls.overhead


def _encoded(size: int) -> int:
    """The length of ``size`` bytes in base64."""
    return (size + 2) // 3 * 4


public = APIRouter(tags=["inventories"], route_class=CappedWebhookRoute)


async def _body(request: Request) -> bytes:
    return await request.body()


def _source(settings: Settings, name: str) -> AppleMdmSource:
    """The ``apple-mdm`` source ``name`` (404 otherwise, naming no other source: anyone
    can call this route)."""
    source = load(settings.inventory_sources).get(name)
    if not isinstance(source, AppleMdmSource):
        raise NotFound(f"no apple-mdm inventory source {name!r}")
    return source


def _basic_password(header: str) -> bytes | None:
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    _user, colon, password = decoded.partition(b":")
    return password if colon else None


def _signed(header: str, key: bytes, body: bytes) -> bool:
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest())
    return hmac.compare_digest(header.strip().encode("latin-1", "replace"), expected)


def _authenticate(
    context: ContextDep, request: Request, source: AppleMdmSource, body: bytes
) -> None:
    try:
        key = secret(source.webhook_secret_file, "webhook secret").encode()
    except Invalid as error:  # the operator's to fix; the caller learns no path
        log.error("webhook of %s: %s", source.name, error.detail)
        raise Unavailable(f"the webhook secret of {source.name} cannot be read") from None
    password = _basic_password(request.headers.get("authorization", ""))
    signature = request.headers.get("x-hmac-signature")
    if password is not None and hmac.compare_digest(password, key):
        return
    if signature is not None and _signed(signature, key, body):
        return
    address = client_address(request)
    sent = password is not None or signature is not None
    context.refusals.record(
        Refusal(
            actor=f"address:{address}",
            action=WEBHOOK_REFUSED,
            object_type="inventory_source",
            object_id=source.name,
            reason="wrong webhook secret" if sent else "no webhook credentials",
            details={"address": address},
        )
    )
    raise Unauthenticated(
        "send the source's webhook secret: as the HTTP Basic password, or as "
        "X-Hmac-Signature (base64 HMAC-SHA256 of the body)"
    )


def _event(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("the webhook event is not JSON") from None
    if not isinstance(event, dict):
        raise Invalid("the webhook event is not a JSON object")
    return event


def _taken_at(event: dict[str, Any], now: datetime) -> datetime:
    """The event's ``created_at`` (when the MDM server got the answer), else now."""
    raw = event.get("created_at")
    if raw is None or raw == "" or (isinstance(raw, str) and raw.startswith("0001-01-01")):
        return now  # absent, or Go's zero time
    if not isinstance(raw, str):
        raise Invalid("created_at must be an RFC 3339 time")
    try:
        taken = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"created_at {raw[:40]!r} is not an RFC 3339 time") from None
    return taken if taken.tzinfo is not None else taken.replace(tzinfo=UTC)


def _payload(answer: dict[str, Any], limit: int) -> bytes:
    """The device's answer: ``raw_payload`` decoded, at most ``limit`` bytes."""
    raw = answer.get("raw_payload")
    if not isinstance(raw, str) or not raw:
        raise Invalid("acknowledge_event.raw_payload must be the answer in base64")
    if len(raw) > _encoded(limit):
        raise TooLarge(f"the answer is larger than {limit} bytes")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("acknowledge_event.raw_payload is not base64") from None
    if len(data) > limit:
        raise TooLarge(f"the answer is larger than {limit} bytes")
    return data


def _response(data: bytes) -> dict[str, Any]:
    """The device's answer as a property list dictionary."""
    try:
        document = plistlib.loads(data)
    except (plistlib.InvalidFileException, ExpatError, ValueError, TypeError, OverflowError):
        raise InventoryError("acknowledge_event.raw_payload is not a property list") from None
    if not isinstance(document, dict):
        raise InventoryError("acknowledge_event.raw_payload is not a command's answer")
    return document


def _ignored(reason: str) -> WebhookOutcome:
    return WebhookOutcome(imported=False, reason=reason)


@public.post(
    "/inventories/sources/{name}/webhook",
    responses=problems(401, 404, 409, 413, 422, 503),
    openapi_extra={
        "x-public": True,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    },
)
def webhook(
    name: str,
    request: Request,
    context: ContextDep,
    body: Annotated[bytes, Depends(_body)],
) -> WebhookOutcome:
    """An Apple MDM server's webhook event (MicroMDM's format; NanoMDM's too). Public on
    purpose, authenticated by the source's webhook secret. A device's answer to
    ``InstalledApplicationList`` is imported as an ``apple-mdm`` file would be; other
    events are ignored with 200. See docs/inventories.md."""
    settings = context.settings
    source = _source(settings, name)
    _authenticate(context, request, source, body)
    event = _event(body)
    topic = event.get("topic")
    if topic != "mdm.Connect":
        return _ignored(f"topic {str(topic)[:60]!r} carries no command's answer")
    answer = event.get("acknowledge_event")
    if not isinstance(answer, dict):
        return _ignored("mdm.Connect without acknowledge_event")
    status = answer.get("status")
    if status != "Acknowledged":
        return _ignored(f"status {str(status)[:40]!r}: no answer to import")
    data = _payload(answer, settings.inventory_max_bytes)
    if "InstalledApplicationList" not in _response(data):
        return _ignored("the answer is not to InstalledApplicationList")
    clock = context.clock
    defaults = Defaults(source.ownership, source.supervised, _taken_at(event, clock.now()))
    with context.sessions() as session, session.begin():
        result = import_inventory(
            session,
            clock=clock,
            acting=Acting(actor=f"{WEBHOOK_ACTOR}{source.name}", audit_key=context.audit_key),
            settings=settings,
            kind="apple-mdm",
            data=data,
            group=source.group,
            defaults=defaults,
        )
    if not result.devices:
        return _ignored(result.skipped[0].reason if result.skipped else "no device")
    device = result.devices[0]
    return WebhookOutcome(
        imported=True,
        reason=f"{device.apps} apps of {device.external_id}",
        device_id=device.device_id,
        created=device.created,
        compliance=device.compliance,
    )
