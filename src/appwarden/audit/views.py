"""Reading and verifying the audit log."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from appwarden.api.deps import ContextDep, SessionDep, guarded
from appwarden.api.pagination import Page, PageDep
from appwarden.audit import service
from appwarden.auth.roles import Permission

router = APIRouter(tags=["audit"])


class EventRead(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


class VerificationRead(BaseModel):
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    reason: str | None
    problem: Literal["gap", "link", "edited"] | None = None


@router.get("/audit/events", **guarded(Permission.audit))
def events(
    session: SessionDep,
    page: PageDep,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> Page[EventRead]:
    """Audit events in chain order, optionally for one object, actor or action."""
    where = service.EventFilter(
        object_type=object_type, object_id=object_id, actor=actor, action=action
    )
    rows, total = service.list_events(session, where=where, limit=page.limit, offset=page.offset)
    items = [EventRead(**service.as_record(e)) for e in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/audit/verify", **guarded(Permission.audit))
def verify(session: SessionDep, context: ContextDep) -> VerificationRead:
    """Walk the chain and report the first event that does not hold, and the head."""
    result = service.verify(session, key=context.audit_key)
    return VerificationRead(**result.__dict__)
