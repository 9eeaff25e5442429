"""Determinations in force and active waivers, resolved into the policy compiler's inputs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.catalog.models import App, PublisherDomain
from appwarden.decisions import service as decisions
from appwarden.decisions.lifecycle import Status
from appwarden.decisions.models import Determination
from appwarden.policy import RuleInput, WaiverInput
from appwarden.waivers import service as waivers


def _rule(session: Session, determination: Determination) -> RuleInput:
    """One determination as the compiler takes it; a publisher target with its family."""
    publisher_ids: list[int] = []
    domains: list[str] = []
    app_ids: list[str] = []
    if determination.target_kind == "publisher" and determination.publisher_id is not None:
        family = decisions.publisher_family(session, determination.publisher_id)
        publisher_ids = sorted(family)
        domains = list(
            session.scalars(
                select(PublisherDomain.domain).where(PublisherDomain.publisher_id.in_(family))
            )
        )
        apps = select(App.app_id).where(App.publisher_id.in_(family))
        if determination.platform is not None:
            apps = apps.where(App.platform == determination.platform)
        app_ids = list(session.scalars(apps))
    return RuleInput(
        id=determination.id,
        action=determination.action,
        target_kind=determination.target_kind,
        scope=list(determination.scope),
        target_value=determination.target_value,
        publisher_ids=publisher_ids,
        publisher_domains=domains,
        publisher_app_ids=app_ids,
        platform=determination.platform,
        effective_at=determination.effective_at,
        removal_deadline=determination.removal_deadline,
        expires_at=determination.expires_at,
        title=determination.title,
    )


def rule_inputs(session: Session, *, now: datetime) -> list[RuleInput]:
    """Every determination in force (effective status), resolved for the compiler; one
    whose effective time is still ahead is included, so the compiler can say when the
    device's policy changes next (it applies only from that time)."""
    in_force = session.scalars(decisions.query(now=now, status=Status.in_force)).all()
    return [_rule(session, d) for d in in_force]


def waiver_inputs(session: Session, *, now: datetime) -> list[WaiverInput]:
    """Every approved waiver active now whose determination applies now."""
    return [
        WaiverInput(
            id=w.id,
            determination_id=w.determination_id,
            expires_at=w.expires_at,
            devices=list(w.devices),
            users=list(w.users),
        )
        for w in waivers.active(session, now=now)
    ]
