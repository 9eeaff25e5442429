"""Load what an export needs for one scope (determinations in force, waivers, catalog
names and vetting's endpoints) and build it. Reads only: nothing is written."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.catalog.models import App, Assessment, Publisher
from appwarden.enforcement.inputs import rule_inputs, waiver_inputs
from appwarden.errors import Invalid, NotFound
from appwarden.exports.kinds import builder
from appwarden.exports.model import AppLabel, Export, ScopeLists
from appwarden.exports.scope import resolve_scope
from appwarden.exports.signing import sign
from appwarden.fleet.models import DeviceGroup
from appwarden.policy import RuleInput

ALL_DEVICES = "*"


def _check_scope(session: Session, scope: str) -> None:
    if scope == ALL_DEVICES:
        return
    if session.scalar(select(DeviceGroup.id).where(DeviceGroup.name == scope)) is None:
        raise NotFound(f"no device group named {scope!r}")


def _app_ids(rules: Iterable[RuleInput]) -> set[str]:
    ids: set[str] = set()
    for rule in rules:
        ids.update(rule.publisher_app_ids)
        if rule.target_kind == "app" and rule.target_value:
            ids.add(rule.target_value)
    return ids


def _endpoints(document: dict[str, Any]) -> list[str]:
    """Host names vetting found, without those of third-party trackers."""
    trackers = {
        d
        for t in document.get("trackers") or []
        for d in (t.get("evidence") or {}).get("domains", [])
    }
    found = (document.get("network") or {}).get("domains") or []
    return [d for d in found if isinstance(d, str) and d not in trackers]


def _catalog(
    session: Session, ids: set[str]
) -> tuple[dict[str, frozenset[str]], dict[str, AppLabel], dict[str, list[str]]]:
    """Per app id: its platforms, its label, and the endpoints of its latest assessment."""
    platforms: dict[str, set[str]] = {}
    labels: dict[str, AppLabel] = {}
    endpoints: dict[str, list[str]] = {}
    rows = session.execute(
        select(App, Publisher.name)
        .outerjoin(Publisher, Publisher.id == App.publisher_id)
        .where(App.app_id.in_(sorted(ids)))
    ).all()
    for app, publisher in rows:
        platforms.setdefault(app.app_id, set()).add(app.platform)
        labels[app.app_id] = AppLabel(name=app.name, publisher=publisher or "")
        latest = session.scalars(
            select(Assessment)
            .where(Assessment.app_id == app.id)
            .order_by(Assessment.created_at.desc(), Assessment.id.desc())
            .limit(1)
        ).first()
        if latest is not None:
            endpoints.setdefault(app.app_id, []).extend(_endpoints(latest.document))
    return {k: frozenset(v) for k, v in platforms.items()}, labels, endpoints


def scope_lists(session: Session, scope: str, *, now: datetime) -> ScopeLists:
    """The determinations in force for ``scope`` (a device group, or ``*``) at ``now``."""
    _check_scope(session, scope)
    rules = rule_inputs(session, now=now)
    platforms, labels, endpoints = _catalog(session, _app_ids(rules))
    return resolve_scope(
        scope,
        rules,
        waiver_inputs(session, now=now),
        now=now,
        platforms_of=platforms,
        endpoints=endpoints,
        labels=labels,
    )


def export(
    session: Session,
    kind: str,
    scope: str,
    *,
    now: datetime,
    certificate_pem: bytes | None = None,
    key_pem: bytes | None = None,
) -> Export:
    """Build one export; a profile is signed when a certificate and key are given."""
    build = builder(kind)
    if (certificate_pem is None) != (key_pem is None):
        raise Invalid("signing needs both a certificate and a key")
    if certificate_pem is not None and kind != "mobileconfig":
        raise Invalid("only a mobileconfig export can be signed")
    result = build(scope_lists(session, scope, now=now))
    if certificate_pem is None or key_pem is None:
        return result
    return replace(result, content=sign(result.content, certificate_pem, key_pem))
