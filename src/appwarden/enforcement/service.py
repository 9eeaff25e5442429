"""Determinations in force and active waivers, resolved into the compiler's inputs, and
each device's compiled policy with a version that only grows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from appwarden.catalog.models import App, PublisherDomain
from appwarden.decisions import service as decisions
from appwarden.decisions.models import Determination
from appwarden.enforcement.models import DevicePolicyIssue, DevicePolicyVersion, PolicyDocument
from appwarden.fleet.membership import device_input
from appwarden.fleet.models import Device
from appwarden.policy import DevicePolicy, RuleInput, WaiverInput, compile_policy
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
    """Every determination in force now (effective status), resolved for the compiler."""
    return [_rule(session, d) for d in decisions.in_force_now(session, now=now)]


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


def store_document(session: Session, etag: str, document: dict[str, Any], *, now: datetime) -> None:
    """Keep ``document`` under its content hash (once: equal inputs share one row)."""
    if session.get(PolicyDocument, etag) is not None:
        return
    try:
        with session.begin_nested():
            session.add(PolicyDocument(etag=etag, document=document, created_at=now))
    except IntegrityError:
        pass  # another request stored the same document meanwhile: same content


def current_policy(session: Session, device: Device, *, now: datetime) -> tuple[DevicePolicy, int]:
    """The device's policy now and its version: bumped (and stored, with its history row)
    when the ETag changes."""
    policy = compile_policy(
        device_input(session, device),
        rule_inputs(session, now=now),
        waiver_inputs(session, now=now),
        now=now,
    )
    etag = policy.etag
    store_document(session, etag, policy.document(), now=now)
    stored = session.get(DevicePolicyVersion, device.id, with_for_update=True)
    if stored is None:
        try:
            # A savepoint: if another request for this new device inserted the first row
            # meanwhile, only this insert is undone, and the row is read (and locked) again.
            with session.begin_nested():
                stored = DevicePolicyVersion(
                    device_id=device.id, version=1, etag=etag, issued_at=now, seq=0
                )
                session.add(stored)
                session.add(
                    DevicePolicyIssue(device_id=device.id, version=1, etag=etag, issued_at=now)
                )
        except IntegrityError:
            stored = session.get(
                DevicePolicyVersion, device.id, with_for_update=True, populate_existing=True
            )
            assert stored is not None  # noqa: S101 - the other request's row
    if stored.etag != etag:
        stored.version += 1
        stored.etag = etag
        stored.issued_at = now
        session.add(
            DevicePolicyIssue(device_id=device.id, version=stored.version, etag=etag, issued_at=now)
        )
    stored.next_change_at = policy.next_change_at
    return policy, stored.version


def issued_document(session: Session, device_id: str, version: int) -> dict[str, Any] | None:
    """The policy document issued to ``device_id`` as ``version``; None if never issued."""
    etag = session.scalar(
        select(DevicePolicyIssue.etag).where(
            DevicePolicyIssue.device_id == device_id, DevicePolicyIssue.version == version
        )
    )
    if etag is None:
        return None
    document = session.get(PolicyDocument, etag)
    return None if document is None else document.document
