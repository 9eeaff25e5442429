"""Device request authentication: every request after enrollment is signed with the
device's Ed25519 key.

Headers: ``X-AppWarden-Device`` (device id), ``X-AppWarden-Timestamp`` (unix seconds),
``X-AppWarden-Nonce`` (16-64 URL-safe characters), ``X-AppWarden-Signature`` (base64 of the
64-byte signature) over the canonical string::

    AW1\\n{METHOD}\\n{path with query}\\n{sha256 hex of body}\\n{timestamp}\\n{nonce}

A request outside ±300 s of the server's clock, with a nonce the device already used
within that window, from an unknown or retired device or one whose key was revoked, or
with a signature that does not verify is refused with 401. Lost devices may still
authenticate, so they can report. :func:`signed_headers` is the client side.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, Request
from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from appwarden.api.deps import Context, client_address
from appwarden.audit.refusals import DEVICE_SIGNATURE_REFUSED, Refusal
from appwarden.db import one_of
from appwarden.errors import Unauthenticated
from appwarden.fleet.models import Device
from appwarden.protocol.models import DeviceNonce

if TYPE_CHECKING:  # batching imports this module
    from appwarden.protocol.v1.batching import DeviceWrites

SCHEME = "AW1"
WINDOW = timedelta(seconds=300)
#: ``last_seen_at`` moves at most this often (a write per check-in is not needed).
SEEN_GRANULARITY = timedelta(seconds=60)
DEVICE_HEADER = "X-AppWarden-Device"
TIMESTAMP_HEADER = "X-AppWarden-Timestamp"
NONCE_HEADER = "X-AppWarden-Nonce"
SIGNATURE_HEADER = "X-AppWarden-Signature"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def canonical(method: str, target: str, body: bytes, timestamp: str, nonce: str) -> bytes:
    """The bytes a device signs: ``target`` is the path with its query (``/v1/x?a=1``)."""
    return _canonical(method, target, hashlib.sha256(body).hexdigest(), timestamp, nonce)


def _canonical(method: str, target: str, body_sha256: str, timestamp: str, nonce: str) -> bytes:
    return f"{SCHEME}\n{method.upper()}\n{target}\n{body_sha256}\n{timestamp}\n{nonce}".encode()


def signed_headers(
    key: Ed25519PrivateKey,
    *,
    device_id: str,
    method: str,
    target: str,
    body: bytes = b"",
    timestamp: int,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four headers of a signed request (what an agent sends)."""
    nonce = nonce or secrets.token_urlsafe(24)
    signature = key.sign(canonical(method, target, body, str(timestamp), nonce))
    return {
        DEVICE_HEADER: device_id,
        TIMESTAMP_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
    }


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers, read from the request before any database work."""

    device_id: str
    timestamp: int
    nonce: str
    signature: bytes
    message: bytes
    body_sha256: str  # hex, as signed (state reports are remembered by it)


def _header(request: Request, name: str) -> str:
    value = request.headers.get(name, "").strip()
    if not value:
        raise Unauthenticated(f"a signed device request needs the {name} header")
    return value


async def read_signed_request(request: Request) -> SignedRequest:
    """The signed parts of the request; a missing or malformed header is a 401."""
    device_id = _header(request, DEVICE_HEADER)
    timestamp = _header(request, TIMESTAMP_HEADER)
    nonce = _header(request, NONCE_HEADER)
    signature = _header(request, SIGNATURE_HEADER)
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Unauthenticated(f"{TIMESTAMP_HEADER} must be unix seconds")
    if not _NONCE.match(nonce):
        raise Unauthenticated(f"{NONCE_HEADER} must be 16-64 URL-safe characters")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise Unauthenticated(f"{SIGNATURE_HEADER} must be base64") from None
    # The path as request.url.path gives it, without building the whole URL (which took
    # a tenth of a check-in's CPU time in a profile).
    scope = request.scope
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"").decode("latin-1")
    target = path + (f"?{query}" if query else "")
    body_sha256 = hashlib.sha256(await request.body()).hexdigest()
    return SignedRequest(
        device_id=device_id[:64],
        timestamp=int(timestamp),
        nonce=nonce,
        signature=raw,
        message=_canonical(request.method, target, body_sha256, timestamp, nonce),
        body_sha256=body_sha256,
    )


@lru_cache(maxsize=1 << 17)
def _public_key(public_key_b64: str) -> Ed25519PublicKey:
    """A device's key, loaded once: every request it sends is verified with it. Keyed by
    the key itself, so a revoked or replaced key is simply never asked for again."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))


def _verify(public_key_b64: str, signature: bytes, message: bytes) -> bool:
    try:
        _public_key(public_key_b64).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _claim_nonces(
    session: Session, signed: Sequence[SignedRequest], now: datetime
) -> set[tuple[str, str]]:
    """Record each request's nonce; returns those not used before. A nonce used before is
    refused by the table's unique constraint (nonces older than the window are deleted by
    the server's sweep, :func:`prune_nonces`, not by every request)."""
    rows = [{"device_id": s.device_id, "nonce": s.nonce, "seen_at": now} for s in signed]
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    table = cast(Table, DeviceNonce.__table__)
    insert = postgresql_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    statement = insert.on_conflict_do_nothing().returning(table.c.device_id, table.c.nonce)
    return {(d, n) for d, n in session.execute(statement, rows)}


def authenticate_many(
    session: Session, signed: Sequence[SignedRequest], now: datetime
) -> list[Device | Unauthenticated]:
    """The device that signed each request, or why it is refused (in order). Each
    accepted request's nonce is recorded; ``last_seen_at`` moves at most once a minute."""
    refused = Unauthenticated("unknown device, revoked key or bad signature")
    outcomes: list[Device | Unauthenticated] = []
    signers = one_of(session, Device.id, {s.device_id for s in signed})
    devices = {d.id: d for d in session.scalars(select(Device).where(signers))}
    for request in signed:
        device = devices.get(request.device_id)
        if abs(now.timestamp() - request.timestamp) > WINDOW.total_seconds():
            outcomes.append(Unauthenticated("the request timestamp is outside the ±300 s window"))
        elif device is None or device.state == "retired" or device.public_key is None:
            outcomes.append(refused)
        elif not _verify(device.public_key, request.signature, request.message):
            outcomes.append(refused)
        else:
            outcomes.append(device)
    verified = [s for s, o in zip(signed, outcomes, strict=True) if isinstance(o, Device)]
    fresh = _claim_nonces(
        session, list({(s.device_id, s.nonce): s for s in verified}.values()), now
    )
    seen: set[tuple[str, str]] = set()
    for index, request in enumerate(signed):
        key = (request.device_id, request.nonce)
        if isinstance(outcomes[index], Device) and (key not in fresh or key in seen):
            outcomes[index] = Unauthenticated("this nonce was already used; sign with a new one")
        seen.add(key)
    # Only devices whose request was accepted: a forged request names a device, proves nothing.
    accepted = {o.id: o for o in outcomes if isinstance(o, Device)}
    stale = sorted(
        d.id
        for d in accepted.values()
        if d.last_seen_at is None or now - d.last_seen_at >= SEEN_GRANULARITY
    )
    if stale:
        session.execute(
            update(Device)
            .where(one_of(session, Device.id, stale))
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
    return outcomes


async def signed_request(request: Request) -> SignedRequest:
    """The request's signed parts, checked for form and time window; the signature is
    verified later, with its device's key, in a batch (:func:`authenticate_many`). A
    refusal is audited, aggregated per claimed device (:mod:`appwarden.audit.refusals`)."""
    # The context from the app, not as a sub-dependency: this runs for every device
    # request, and each dependency FastAPI resolves costs more than the lookup.
    context: Context = request.app.state.context
    try:
        signed = await read_signed_request(request)
        now = context.clock.now()
        if abs(now.timestamp() - signed.timestamp) > WINDOW.total_seconds():
            raise Unauthenticated("the request timestamp is outside the ±300 s window")
    except Unauthenticated as refused:
        await refuse(request, refused)
        raise
    return signed


async def refuse(request: Request, refused: Unauthenticated) -> None:
    """Audit a refused device request (aggregated, see :mod:`appwarden.audit.refusals`)."""
    context: Context = request.app.state.context
    await run_in_threadpool(context.refusals.record, _refusal(request, refused))


async def _authenticate(request: Request, *, policy: bool) -> Device:
    """The device that signed the request, or 401 (as a problem document).

    Recorded in a transaction of its own (batched with other requests' by the process's
    :class:`~appwarden.protocol.v1.batching.DeviceWrites`), so a replay is refused even if
    the route fails. With ``policy``, the device's stored policy version is read in that
    transaction too (``request.state.stored_policy``)."""
    signed = await signed_request(request)
    writes: DeviceWrites = request.app.state.device_writes
    try:
        if policy:
            # A check-in whose client has gone is dropped from the queue (see batching).
            gone = request.is_disconnected
            device, request.state.stored_policy = await writes.authenticate_for_policy(signed, gone)
        else:
            device = await writes.authenticate(signed)
    except Unauthenticated as refused:
        await refuse(request, refused)
        raise
    request.state.device = device
    return device


async def authenticate_device(request: Request) -> Device:
    """The device that signed the request, or 401 (see :func:`_authenticate`)."""
    return await _authenticate(request, policy=False)


async def authenticate_for_policy(request: Request) -> Device:
    """:func:`authenticate_device`, reading the device's stored policy version with it."""
    return await _authenticate(request, policy=True)


def _refusal(request: Request, refused: Unauthenticated) -> Refusal:
    claimed = request.headers.get(DEVICE_HEADER, "").strip()[:64]
    address = client_address(request)
    return Refusal(
        actor=f"device:{claimed}" if claimed else f"address:{address}",
        action=DEVICE_SIGNATURE_REFUSED,
        object_type="device",
        object_id=claimed or "unknown",
        reason=refused.detail,
        details={"address": address, "route": f"{request.method} {request.url.path}"[:64]},
    )


DeviceDep = Annotated[Device, Depends(authenticate_device)]
#: The request's signed parts, checked for form and time window only: for a route that
#: verifies the signature in the transaction doing its work (``POST /v1/state``).
SignedDep = Annotated[SignedRequest, Depends(signed_request)]
#: As :data:`DeviceDep`, for ``GET /v1/policy``: ``request.state.stored_policy`` then holds
#: the device's stored version (a ``Current``) if it was current, else None.
PolicyDeviceDep = Annotated[Device, Depends(authenticate_for_policy)]


def prune_nonces(session: Session, now: datetime) -> int:
    """Forget nonces no request may still carry: one signed that long ago is refused by
    its timestamp. Returns how many were deleted."""
    # Twice the window: a request stamped up to WINDOW ahead of the server's clock stays
    # acceptable until WINDOW after its stamp.
    result = session.execute(delete(DeviceNonce).where(DeviceNonce.seen_at < now - 2 * WINDOW))
    return int(getattr(result, "rowcount", 0) or 0)
