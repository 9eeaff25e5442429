"""Delivering the compliance webhook from its outbox, after the commit that queued it.

Each change of a device's overall verdict is a row of ``compliance_webhooks``, written in
the transaction that made the change, so nothing is lost if the server stops. Delivery
POSTs the JSON payload with ``X-AppWarden-Signature: sha256=<hex>`` (HMAC-SHA256 of the
exact body with ``APPWARDEN_COMPLIANCE_WEBHOOK_SECRET``); a failure stays queued with a
later attempt time (backing off up to an hour). At least once: receivers de-duplicate by
the ``X-AppWarden-Delivery`` id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from appwarden.clock import Clock
from appwarden.compliance.models import ComplianceWebhook
from appwarden.config import Settings

SIGNATURE_HEADER = "X-AppWarden-Signature"
DELIVERY_HEADER = "X-AppWarden-Delivery"
TIMEOUT = 5.0
BATCH = 100
MAX_BACKOFF = timedelta(hours=1)


def signature(secret: bytes, body: bytes) -> str:
    """The header value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str) -> bool:
    """What a receiver does: compare in constant time."""
    return hmac.compare_digest(signature(secret, body), header.strip())


def body_of(payload: dict[str, object], delivery_id: int) -> bytes:
    return json.dumps({"id": delivery_id, **payload}, sort_keys=True).encode("utf-8")


def _backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=10 * 2 ** min(attempts, 12)))


def _due(sessions: sessionmaker[Session], now: datetime) -> list[tuple[int, bytes]]:
    with sessions() as session:
        rows = session.scalars(
            select(ComplianceWebhook)
            .where(ComplianceWebhook.delivered_at.is_(None))
            .where(ComplianceWebhook.next_attempt_at <= now)
            .order_by(ComplianceWebhook.id)
            .limit(BATCH)
        ).all()
        return [(row.id, body_of(row.payload, row.id)) for row in rows]


def _settle(
    sessions: sessionmaker[Session], delivery_id: int, now: datetime, error: str | None
) -> None:
    with sessions() as session, session.begin():
        row = session.get(ComplianceWebhook, delivery_id, with_for_update=True)
        if row is None or row.delivered_at is not None:
            return
        row.attempts += 1
        if error is None:
            row.delivered_at = now
            row.last_error = None
        else:
            row.last_error = error[:1000]
            row.next_attempt_at = now + _backoff(row.attempts)


def deliver_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: Clock,
    *,
    client: httpx.Client | None = None,
) -> int:
    """POST every queued webhook whose attempt time has come; returns how many succeeded.
    Holds no transaction while it waits on the receiver."""
    url, secret = settings.compliance_webhook_url, settings.compliance_webhook_secret
    if not url or secret is None:
        return 0
    key = secret.get_secret_value().encode()
    delivered = 0
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT)
    try:
        for delivery_id, body in _due(sessions, clock.now()):
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(key, body),
                DELIVERY_HEADER: str(delivery_id),
            }
            error: str | None = None
            try:
                response = http.post(url, content=body, headers=headers)
                if response.status_code >= 300:
                    error = f"HTTP {response.status_code}"
            except httpx.HTTPError as failure:
                error = f"{type(failure).__name__}: {failure}"
            _settle(sessions, delivery_id, clock.now(), error)
            delivered += error is None
    finally:
        if own:
            http.close()
    return delivered
