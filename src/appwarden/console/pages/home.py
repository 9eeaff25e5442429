"""The dashboard (``/``): determinations in force with the compliance of each (charts and
the same figures as a table), stragglers, waivers expiring soon, reviews due.

Compliance shows twice: devices by status now, and the share compliant over time (replayed
from the append-only history). The compliance part refreshes itself every 5 s with htmx
(``/dashboard/compliance``); without JavaScript the page shows the same figures as of its
loading. JSON twins: ``GET /api/v1/determinations?status=in_force``, ``GET
/api/v1/determinations/{id}/compliance`` and ``.../compliance/trend`` (the chart over
time), ``GET /api/v1/waivers?state=active`` and ``GET /api/v1/determinations/due-for-review``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from appwarden.auth.roles import Permission
from appwarden.auth.service import Principal
from appwarden.compliance import trend
from appwarden.compliance.schemas import ComplianceTrend, Straggler
from appwarden.console import compliance, i18n, labels
from appwarden.console.access import allowed
from appwarden.console.i18n import N_
from appwarden.console.nav import NavItem
from appwarden.console.rendering import render
from appwarden.console.sessions import context_of
from appwarden.decisions import service as decisions
from appwarden.decisions.lifecycle import Status
from appwarden.waivers import service as waivers
from appwarden.waivers.models import Waiver

router = APIRouter()
NAV = NavItem("/", N_("Home"))
SHOWN = 20
WAIVERS_WITHIN_DAYS = 14
REVIEWS_WITHIN_DAYS = 30

Reader = Annotated[Principal, allowed(Permission.read)]


@dataclass(frozen=True)
class Row:
    """One determination in force and its compliance."""

    id: int
    title: str
    share: compliance.Share
    trend: ComplianceTrend


def _in_force(request: Request) -> tuple[list[Row], list[tuple[Row, Straggler]]]:
    context = context_of(request)
    now = context.clock.now()
    with context.reading() as session:
        found = session.scalars(decisions.query(now=now, status=Status.in_force)).all()
        rows = [Row(d.id, d.title, compliance.share(session, d.id, request=request),
                    trend.trend(session, d.id, now=now)) for d in found]  # fmt: skip
    late = [(row, s) for row in rows for s in row.share.figures.stragglers]
    late.sort(key=lambda pair: (pair[1].since, pair[1].device_id))
    return rows, late[:SHOWN]


def _chart(rows: list[Row]) -> dict[str, Any]:
    """The chart's figures (the table beside it holds the same): devices per status.
    Called while the page renders, so the labels are in the page's language."""
    _ = i18n.gettext_current
    return {
        "labels": [f"{row.id}. {row.title}"[:60] for row in rows],
        "datasets": [
            {"status": code, "label": _(label),
             "data": [row.share.figures.counts.get(code, 0) for row in rows]}
            for code, label in labels.COMPLIANCE.items()
        ],
    }  # fmt: skip


def _trend_chart(rows: list[Row]) -> dict[str, Any]:
    """The share compliant over time, per determination: points (ms since the epoch, %)."""
    return {
        "axis": i18n.gettext_current(N_("Share of devices compliant, per cent")),
        "datasets": [
            {"label": f"{row.id}. {row.title}"[:60],
             "points": [[int(p.at.timestamp() * 1000), p.percent] for p in row.trend.points]}
            for row in rows
        ],
    }  # fmt: skip


def _compliance_values(request: Request) -> dict[str, Any]:
    rows, late = _in_force(request)
    now = labels.when(context_of(request).clock.now())
    return {"rows": rows, "stragglers": late, "labels": labels, "chart": _chart,
            "trend_chart": _trend_chart, "as_of": now}  # fmt: skip


def _soon(request: Request) -> dict[str, Any]:
    context = context_of(request)
    now = context.clock.now()
    expiring = (
        waivers.query(now=now, state="active")
        .where(Waiver.expires_at <= now + timedelta(days=WAIVERS_WITHIN_DAYS))
        .order_by(None)
        .order_by(Waiver.expires_at, Waiver.id)
        .limit(SHOWN)
    )
    reviews = decisions.due_for_review(now=now, within_days=REVIEWS_WITHIN_DAYS).limit(SHOWN)
    with context.reading() as session:
        return {
            "waivers": [waivers.read(session, w, now=now) for w in session.scalars(expiring)],
            "reviews": [
                (d.id, d.title, labels.when(d.review_at)) for d in session.scalars(reviews)
            ],
        }


@router.get("/")
def home(request: Request, principal: Reader, background: BackgroundTasks) -> Response:
    compliance.refresh(request, background)
    return render(
        request, "home.html", principal=principal, waivers_days=WAIVERS_WITHIN_DAYS,
        reviews_days=REVIEWS_WITHIN_DAYS, **_soon(request), **_compliance_values(request),
    )  # fmt: skip


@router.get("/dashboard/compliance")
def compliance_part(request: Request, principal: Reader, background: BackgroundTasks) -> Response:
    """The compliance part alone, for htmx's polling; a browser without it gets the page."""
    if request.headers.get("hx-request") != "true":
        return RedirectResponse("/", status_code=303)
    compliance.refresh(request, background)
    return render(request, "dashboard_compliance.html", principal=principal,
                  **_compliance_values(request))  # fmt: skip
