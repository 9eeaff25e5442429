"""Compliance figures for pages: judge the devices that are due, then read, as the REST
reads do (``GET /api/v1/determinations/{id}/compliance``)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import BackgroundTasks
from sqlalchemy.orm import Session
from starlette.requests import Request

from appwarden.compliance import reads, service, webhook
from appwarden.compliance.schemas import DeterminationCompliance
from appwarden.console.sessions import context_of


def refresh(request: Request, background: BackgroundTasks) -> None:
    """Judge the due devices in a unit of work of its own; webhooks go out afterwards."""
    context = context_of(request)
    with context.sessions() as session, session.begin():
        changed = service.refresh(session, context.clock.now(), settings=context.settings)
    if changed and context.settings.compliance_webhook_url:
        background.add_task(webhook.deliver_due, context.sessions, context.settings, context.clock)


@dataclass(frozen=True)
class Share:
    """A determination's compliance as a page shows it."""

    figures: DeterminationCompliance
    #: Devices counted (exempt and cannot_enforce aside), and the share compliant (0-100).
    counted: int
    percent: int | None


def share(session: Session, determination_id: int, *, request: Request) -> Share:
    now = context_of(request).clock.now()
    figures = reads.determination_compliance(session, determination_id, now=now)
    counted = figures.devices - sum(figures.counts.get(s, 0) for s in reads.NOT_COUNTED)
    compliant = figures.counts.get("compliant", 0)
    percent = int(100 * compliant / counted) if counted else None
    return Share(figures=figures, counted=counted, percent=percent)
