"""Idempotency keys for creating calls: the same request sent twice has one effect.

A client may send ``Idempotency-Key: <unique string>`` with any POST that creates
something. The first response is stored with the key, for the same principal and route;
a retry with the same key and the same body gets that response again (status and body)
without a second effect; the same key with a different body is refused (422). The record
is written in the request's own transaction, so it exists only if the effect does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from appwarden.auth.service import Principal
from appwarden.clock import Clock
from appwarden.db import Base
from appwarden.errors import Invalid

HEADER = "Idempotency-Key"


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("actor", "route", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime]


def key_of(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is not None and not (1 <= len(key) <= 200):
        raise Invalid(f"{HEADER} must be 1 to 200 characters")
    return key


def fingerprint(payload: Any) -> str:
    """A digest of the request body (JSON-able payload or raw bytes)."""
    if isinstance(payload, bytes | bytearray):
        return hashlib.sha256(payload).hexdigest()
    canonical = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(
    session: Session, *, key: str | None, principal: Principal, route: str, digest: str
) -> JSONResponse | None:
    """The stored response for this key, or None if the key is new (or absent)."""
    if key is None:
        return None
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.actor == principal.actor,
            IdempotencyRecord.route == route,
            IdempotencyRecord.key == key,
        )
    )
    if record is None:
        return None
    if record.request_sha256 != digest:
        raise Invalid(f"{HEADER} {key!r} was already used with a different request")
    return JSONResponse(
        record.body, status_code=record.status, headers={"Idempotent-Replay": "true"}
    )


def remember(
    session: Session,
    *,
    key: str | None,
    principal: Principal,
    route: str,
    digest: str,
    status: int,
    body: Any,
    clock: Clock,
) -> None:
    """Store the response of a creating call under its key (no-op without a key)."""
    if key is None:
        return
    session.add(
        IdempotencyRecord(
            actor=principal.actor,
            route=route,
            key=key,
            request_sha256=digest,
            status=status,
            body=json.loads(json.dumps(body, default=str)),
            created_at=clock.now(),
        )
    )
    session.flush()


@dataclass(frozen=True)
class Once:
    """One creating request under its ``Idempotency-Key`` (if the client sent one)."""

    key: str | None
    route: str
    digest: str
    principal: Principal

    @classmethod
    def of(cls, request: Request, principal: Principal, payload: Any) -> Once:
        route = f"{request.method} {request.url.path}"
        return cls(key_of(request), route, fingerprint(payload), principal)

    def replay(self, session: Session) -> JSONResponse | None:
        """The first response, if this key was used before (422 if for another body)."""
        return replay(
            session, key=self.key, principal=self.principal, route=self.route, digest=self.digest
        )

    def remember(
        self,
        session: Session,
        body: BaseModel,
        *,
        clock: Clock,
        status_code: int = status.HTTP_201_CREATED,
    ) -> JSONResponse:
        """Store ``body`` as this key's response; return it as that response."""
        content = body.model_dump(mode="json")
        remember(
            session,
            key=self.key,
            principal=self.principal,
            route=self.route,
            digest=self.digest,
            status=status_code,
            body=content,
            clock=clock,
        )
        return JSONResponse(content, status_code=status_code)


def idempotent(
    session: Session,
    *,
    request: Request,
    principal: Principal,
    clock: Clock,
    payload: Any,
    create: Callable[[], BaseModel],
    status_code: int = status.HTTP_201_CREATED,
) -> JSONResponse:
    """Run ``create`` once per ``Idempotency-Key``: a retry gets the first response, in
    the same transaction as the effect (so the record exists only if the effect does)."""
    once = Once.of(request, principal, payload)
    hit = once.replay(session)
    if hit is not None:
        return hit
    return once.remember(session, create(), clock=clock, status_code=status_code)
