"""Enrollment tokens and their redemption: how a phone becomes a managed device.

An operator creates a token for one group, valid until a time and for a number of uses.
The clear value (``aw_enroll_…``) is shown once; only its SHA-256 is stored. A device
redeems it with its Ed25519 public key (raw 32 bytes, base64) and becomes a static member
of the token's group. :func:`reenroll` gives a known device a new key the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from appwarden.audit.service import Acting, Entry, append_many, record
from appwarden.clock import Clock
from appwarden.enforcement.changes import note_change
from appwarden.errors import Conflict, Invalid, InvalidTransition, NotFound, Unauthenticated
from appwarden.fleet import service
from appwarden.fleet.models import Device, EnrollmentToken, device_group_members
from appwarden.fleet.service import device_snapshot
from appwarden.policy.model import OWNERSHIPS, PLATFORMS

TOKEN_PREFIX = "aw_enroll_"  # noqa: S105 (a marker that makes leaked tokens easy to find)
DEVICE_PREFIX = "dev_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def public_key(value: str) -> str:
    """A base64 Ed25519 public key (raw 32 bytes), normalised; anything else is refused."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("the public key must be base64 (standard alphabet)") from None
    if len(raw) != 32:
        raise Invalid(f"an Ed25519 public key is 32 bytes, not {len(raw)}")
    return base64.b64encode(raw).decode()


def create_token(
    session: Session,
    *,
    clock: Clock,
    acting: Acting,
    group_id: int,
    expires_in: timedelta,
    max_uses: int,
) -> tuple[EnrollmentToken, str]:
    """A new token for ``group_id``; returns the row and the clear value (shown once)."""
    if max_uses < 1:
        raise Invalid("an enrollment token needs at least one use")
    if expires_in <= timedelta(0):
        raise Invalid("an enrollment token must expire in the future")
    group = service.get_group(session, group_id=group_id)
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    token = EnrollmentToken(
        group_id=group.id,
        token_sha256=hash_token(clear),
        created_by=acting.actor,
        created_at=now,
        expires_at=now + expires_in,
        max_uses=max_uses,
        uses=0,
    )
    session.add(token)
    session.flush()
    record(
        session,
        clock=clock,
        acting=acting,
        action="enrollment_token.create",
        object_type="enrollment_token",
        object_id=token.id,
        after={
            "group_id": group.id,
            "expires_at": token.expires_at.isoformat(),
            "max_uses": max_uses,
        },
    )
    return token, clear


def revoke_token(
    session: Session, *, clock: Clock, acting: Acting, token_id: int
) -> EnrollmentToken:
    """Revoke an enrollment token: it enrolls no more devices (those it enrolled stay).
    Revoking a revoked token changes nothing (409)."""
    token = session.get(EnrollmentToken, token_id)
    if token is None:
        raise NotFound(f"no enrollment token {token_id}")
    if token.revoked_at is not None:
        raise Conflict(f"enrollment token {token_id} was already revoked")
    token.revoked_at = clock.now()
    record(
        session,
        clock=clock,
        acting=acting,
        action="enrollment_token.revoke",
        object_type="enrollment_token",
        object_id=token.id,
        before={"revoked_at": None},
        after={"revoked_at": token.revoked_at.isoformat(), "uses": token.uses},
    )
    return token


def tokens_query(*, group_id: int | None = None) -> Select[EnrollmentToken]:
    query = select(EnrollmentToken).order_by(EnrollmentToken.id)
    if group_id is not None:
        query = query.where(EnrollmentToken.group_id == group_id)
    return query


def _usable(token: EnrollmentToken | None, now: datetime) -> EnrollmentToken:
    """``token`` if it may enroll one more device now; a clear 401 otherwise."""
    if token is None:
        raise Unauthenticated("unknown enrollment token")
    if token.revoked_at is not None:
        raise Unauthenticated(f"the enrollment token was revoked at {token.revoked_at.isoformat()}")
    if now >= token.expires_at:
        raise Unauthenticated(f"the enrollment token expired at {token.expires_at.isoformat()}")
    if token.uses >= token.max_uses:
        raise Unauthenticated(f"the enrollment token was used up ({token.max_uses} uses)")
    return token


def _locked_tokens(session: Session, hashes: set[str]) -> dict[str, EnrollmentToken]:
    """The tokens with these hashes, row-locked to the end of the transaction (PostgreSQL;
    SQLite's transactions hold the write lock from their start), so concurrent redemptions
    take turns and a token is never spent past ``max_uses``."""
    rows = session.scalars(
        select(EnrollmentToken)
        .where(EnrollmentToken.token_sha256.in_(sorted(hashes)))
        .order_by(EnrollmentToken.token_sha256)
        .with_for_update()
    )
    return {row.token_sha256: row for row in rows}


def _spend(session: Session, clock: Clock, clear: str) -> EnrollmentToken:
    """The token for ``clear``, locked and with one use taken; a clear error otherwise."""
    digest = hash_token(clear)
    token = _usable(_locked_tokens(session, {digest}).get(digest), clock.now())
    token.uses += 1
    return token


def _one_of(what: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise Invalid(f"the {what} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _text(value: str | None, what: str) -> str | None:
    clean = " ".join((value or "").split())
    if len(clean) > 200:
        raise Invalid(f"the {what} is longer than 200 characters")
    return clean or None


@dataclass(frozen=True)
class Enrollment:
    """One device's request to enroll, checked (see :func:`check`); the clear token is
    kept only as its SHA-256."""

    token_sha256: str
    platform: str
    ownership: str
    public_key: str
    department: str | None = None
    user_name: str | None = None
    supervised: bool = False
    source: str = "agent"


def check(
    *,
    token: str,
    platform: str,
    ownership: str,
    public_key_b64: str,
    department: str | None = None,
    user_name: str | None = None,
    supervised: bool = False,
    source: str = "agent",
) -> Enrollment:
    """The request, normalised; malformed input is refused (422) before any token is spent."""
    return Enrollment(
        token_sha256=hash_token(token),
        platform=_one_of("platform", platform, PLATFORMS),
        ownership=_one_of("ownership", ownership, OWNERSHIPS),
        public_key=public_key(public_key_b64),
        department=_text(department, "department"),
        user_name=_text(user_name, "user name"),
        supervised=supervised,
        source=source,
    )


def _device(enrollment: Enrollment, now: datetime, token: EnrollmentToken) -> Device:
    return Device(
        id=DEVICE_PREFIX + secrets.token_hex(10),
        platform=enrollment.platform,
        ownership=enrollment.ownership,
        department=enrollment.department,
        user_name=enrollment.user_name,
        supervised=enrollment.supervised,
        state="active",
        public_key=enrollment.public_key,
        enrollment_token_id=token.id,
        enrolled_at=now,
        last_seen_at=None,
        source=enrollment.source,
    )


def _holders(session: Session, keys: set[str]) -> dict[str, Device]:
    """The devices that hold these public keys."""
    rows = session.scalars(select(Device).where(Device.public_key.in_(sorted(keys))))
    return {row.public_key: row for row in rows if row.public_key is not None}


def _sent_again(holder: Device, token: EnrollmentToken) -> Device:
    """``holder`` when this enrollment is one it made, sent again because its answer was
    lost (same key, same token, still active); 409 when the key belongs to another
    enrollment: a device makes a new key pair for each enrollment."""
    if holder.enrollment_token_id == token.id and holder.state == "active":
        return holder
    raise Conflict("this public key is already enrolled; make a new key pair to enroll")


def redeem_many(
    session: Session, *, clock: Clock, audit_key: bytes, enrollments: Sequence[Enrollment]
) -> list[Device | Unauthenticated | Conflict]:
    """Enroll new devices, in order, in the caller's transaction: each joins its token's
    group as a static member, gets its first policy compiled after commit, and is audited
    (``device.enroll``, one event per device).

    Returns one result per enrollment: the device, or the 401 for an unknown, expired or
    used-up token (nothing is written for that one). A token with ``n`` uses left enrolls
    the first ``n`` of its requests here, however many processes redeem it at once.

    An enrollment sent again with the key and token of a device it already made (its
    answer was lost on the way) gets that device, and spends no use and writes nothing,
    even if the token has expired or been used up since; a key held by any other device
    gets 409."""
    now = clock.now()
    tokens = _locked_tokens(session, {e.token_sha256 for e in enrollments})
    holders = _holders(session, {e.public_key for e in enrollments})
    results: list[Device | Unauthenticated | Conflict] = []
    admitted: list[tuple[Device, EnrollmentToken]] = []
    for enrollment in enrollments:
        found = tokens.get(enrollment.token_sha256)
        holder = holders.get(enrollment.public_key)
        try:
            if found is not None and holder is not None:
                results.append(_sent_again(holder, found))
                continue
            token = _usable(found, now)
        except (Unauthenticated, Conflict) as refused:
            results.append(refused)
            continue
        token.uses += 1
        device = _device(enrollment, now, token)
        holders[enrollment.public_key] = device  # the same request twice in one batch
        results.append(device)
        admitted.append((device, token))
    if not admitted:
        return results
    session.add_all([device for device, _ in admitted])
    session.flush()
    session.execute(
        device_group_members.insert(),
        [{"group_id": token.group_id, "device_id": device.id} for device, token in admitted],
    )
    for device, _ in admitted:
        note_change(session, "device", device.id, now)  # its first policy
    entries = [
        Entry(
            actor=f"device:{device.id}",
            action="device.enroll",
            object_type="device",
            object_id=device.id,
            after=device_snapshot(device)
            | {"enrollment_token_id": token.id, "group_id": token.group_id},
        )
        for device, token in admitted
    ]
    append_many(session, key=audit_key, clock=clock, entries=entries)
    return results


def redeem_enrollment(
    session: Session,
    *,
    clock: Clock,
    audit_key: bytes,
    token: str,
    platform: str,
    ownership: str,
    public_key_b64: str,
    department: str | None = None,
    user_name: str | None = None,
    supervised: bool = False,
    source: str = "agent",
) -> Device:
    """Enroll one new device with ``token`` (see :func:`redeem_many`).

    An unknown, expired or used-up token is refused (401) and nothing is written; so is
    malformed input (422), checked before the token is spent."""
    enrollment = check(
        token=token,
        platform=platform,
        ownership=ownership,
        public_key_b64=public_key_b64,
        department=department,
        user_name=user_name,
        supervised=supervised,
        source=source,
    )
    [result] = redeem_many(session, clock=clock, audit_key=audit_key, enrollments=[enrollment])
    if isinstance(result, Unauthenticated | Conflict):
        raise result
    return result


def reenroll(
    session: Session,
    *,
    clock: Clock,
    audit_key: bytes,
    token: str,
    device_id: str,
    public_key_b64: str,
) -> Device:
    """Give a known device a new key with a new token (after a revoked key, a lost and
    found phone, a factory reset). A retired device stays retired (409)."""
    key = public_key(public_key_b64)
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id}")
    if device.state == "retired":
        raise InvalidTransition(f"device {device.id} is retired; enroll it as a new device")
    holder = _holders(session, {key}).get(key)
    if holder is not None and holder.id != device.id:
        raise Conflict("this public key is already enrolled; make a new key pair to enroll")
    spent = _spend(session, clock, token)
    before = device_snapshot(device)
    device.public_key = key
    device.enrollment_token_id = spent.id
    device.state = "active"
    if not service.is_member(session, spent.group_id, device.id):
        session.execute(
            device_group_members.insert().values(group_id=spent.group_id, device_id=device.id)
        )
    note_change(session, "device", device.id, clock.now())
    session.flush()
    record(
        session,
        clock=clock,
        acting=Acting(actor=f"device:{device.id}", audit_key=audit_key),
        action="device.reenroll",
        object_type="device",
        object_id=device.id,
        before=before,
        after=device_snapshot(device) | {"enrollment_token_id": spent.id},
    )
    return device
