"""Import a partner's list as proposals, export ours, compare the two.

The caller owns the transaction: an import is one unit of work, so a list that fails
anywhere (its file, a target, a determination the decisions service refuses) leaves
nothing behind. Imported determinations go through the decisions service's own lifecycle
(``create`` then ``propose``): they are never in force until another user approves them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appwarden.audit import service as audit
from appwarden.auth.roles import Permission
from appwarden.catalog.models import App, Assessment, Publisher
from appwarden.catalog.service import family_ids
from appwarden.decisions import service as decisions
from appwarden.decisions.lifecycle import Status
from appwarden.decisions.models import Determination
from appwarden.decisions.schemas import DeterminationCreate, GroupName
from appwarden.decisions.transitions import TransitionRequest, perform
from appwarden.errors import Invalid
from appwarden.partners import ours as our
from appwarden.partners.compare import Comparison, compare
from appwarden.partners.format import PartnerList, Target, write
from appwarden.partners.parse import parse

#: Days from the import to the review date of each imported determination (default).
REVIEW_DAYS = 90
#: Most assessments one imported determination cites (the decisions service's limit).
MAX_EVIDENCE = 100
MAX_SCOPE = 500
OPEN = (Status.draft, Status.proposed, Status.notice, Status.in_force)


@dataclass(frozen=True)
class Outcome:
    """What the import did with one target: ``proposed`` or ``draft`` (a determination),
    ``existing`` (one is already open), ``unmatched`` (not in the catalog: nothing made)."""

    target: Target
    result: str
    determination_id: int | None = None
    reason: str | None = None


@dataclass
class ImportResult:
    partner_list: PartnerList
    sha256: str
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)


def _publisher(session: Session, name: str) -> Publisher | None:
    # SQLite's lower() folds ASCII only: compare folded names in Python too.
    rows = session.scalars(
        select(Publisher).where(func.lower(Publisher.name) == name.lower())
    ).all() or [
        p for p in session.scalars(select(Publisher)) if p.name.casefold() == name.casefold()
    ]
    return rows[0] if rows else None


def _apps(session: Session, target: Target) -> list[App]:
    query = select(App).where(App.app_id == target.app_id).order_by(App.id)
    if target.platform is not None:
        query = query.where(App.platform == target.platform)
    return list(session.scalars(query))


def _latest_assessments(session: Session, app_ids: set[int]) -> list[int]:
    """The newest assessment of each app: the evidence an imported proposal cites."""
    if not app_ids:
        return []
    newest = (
        select(func.max(Assessment.id))
        .where(Assessment.app_id.in_(app_ids))
        .group_by(Assessment.app_id)
    )
    return sorted(session.scalars(newest))[-MAX_EVIDENCE:]


def _existing(
    session: Session, target: Target, publisher_id: int | None, now: datetime
) -> int | None:
    query = decisions.query(now=now).where(Determination.action == target.action)
    if publisher_id is not None:
        query = query.where(Determination.publisher_id == publisher_id)
    else:
        query = query.where(
            Determination.target_kind == "app", Determination.target_value == target.app_id
        )
    for d in session.scalars(query):
        platforms = {d.platform, target.platform}
        same_platform = None in platforms or len(platforms) == 1
        if same_platform and decisions.current_status(d, now) in OPEN:
            return d.id
    return None


def _body(
    pl: PartnerList, target: Target, *, publisher_id: int | None, evidence: list[int],
    scope: list[str], review_at: datetime, actor: str,
) -> DeterminationCreate:  # fmt: skip
    what = target.name or target.value
    source = pl.source_title + (f" <{pl.source_url}>" if pl.source_url else "")
    rationale = (
        f"{pl.jurisdiction} lists {target.label()} for {target.action} in “{pl.source_title}” "
        f"dated {pl.date.isoformat()}{f', {pl.source_url}' if pl.source_url else ''}"
        f"{f' (reference: {target.reference})' if target.reference else ''}. "
        f"Imported from the partner's list by {actor}; to be decided on our own evidence."
    )
    kind = (
        {"kind": "publisher", "publisher_id": publisher_id}
        if publisher_id is not None
        else {"kind": "app", "app_id": target.app_id, "platform": target.platform}
    )
    return DeterminationCreate.model_validate({
        "title": f"{pl.jurisdiction}: {target.action} {what}"[:200],
        "target": kind,
        "action": target.action,
        "scope": scope,
        "authority": f"Partner: {pl.jurisdiction}"[:200],
        "instrument": f"{source}, {pl.date.isoformat()}"[:500],
        "rationale": rationale,
        "evidence": evidence,
        "review_at": review_at,
    })  # fmt: skip


def _one(
    acting: decisions.Acting,
    pl: PartnerList,
    target: Target,
    *,
    scope: list[str],
    review_at: datetime,
) -> Outcome:
    session, now = acting.session, acting.clock.now()
    publisher_id: int | None = None
    if target.publisher is not None:
        publisher = _publisher(session, target.publisher)
        if publisher is None:
            return Outcome(target, "unmatched", reason="no publisher of this name in the catalog")
        publisher_id = publisher.id
        app_ids = set(
            session.scalars(
                select(App.id).where(App.publisher_id.in_(family_ids(session, publisher_id)))
            )
        )
    else:
        apps = _apps(session, target)
        if not apps:
            return Outcome(target, "unmatched", reason="no app with this id in the catalog")
        app_ids = {a.id for a in apps}
    existing = _existing(session, target, publisher_id, now)
    if existing is not None:
        return Outcome(
            target, "existing", existing, "an open determination has this target and action"
        )
    evidence = _latest_assessments(session, app_ids)
    body = _body(pl, target, publisher_id=publisher_id, evidence=evidence, scope=scope,
                 review_at=review_at, actor=acting.principal.actor)  # fmt: skip
    created = decisions.create(acting, body)
    if not evidence:
        return Outcome(
            target, "draft", created.id, "no assessment to cite: vet the app, then propose"
        )
    perform(acting, created.id, "propose", TransitionRequest(note=f"from {pl.jurisdiction}'s list"))
    return Outcome(target, "proposed", created.id)


_GROUPS = TypeAdapter(list[GroupName])


def _scope(scope: list[str] | None) -> list[str]:
    """The device groups of the new determinations (default ``*``), checked first."""
    if not scope:
        return ["*"]
    if len(scope) > MAX_SCOPE:
        raise Invalid(f"scope: at most {MAX_SCOPE} device groups")
    try:
        return list(dict.fromkeys(_GROUPS.validate_python(scope)))
    except ValidationError as error:
        problem = error.errors()[0]
        raise Invalid(f"scope[{problem['loc'][0]}]: {problem['msg']}") from None


def import_list(
    acting: decisions.Acting,
    data: bytes,
    *,
    fmt: str | None = None,
    scope: list[str] | None = None,
    review_days: int = REVIEW_DAYS,
) -> ImportResult:
    """Parse ``data`` (all or nothing) and make a determination for each target found in
    the catalog: proposed when the catalog holds an assessment to cite, else a draft."""
    acting.require(Permission.propose)
    groups = _scope(scope)
    pl = parse(data, fmt=fmt, max_bytes=acting.settings.partner_list_max_bytes)
    result = ImportResult(pl, hashlib.sha256(data).hexdigest())
    review_at = acting.clock.now() + timedelta(days=review_days)
    for target in pl.targets:
        result.outcomes.append(_one(acting, pl, target, scope=groups, review_at=review_at))
    audit.append(
        acting.session, key=acting.audit_key, clock=acting.clock, actor=acting.principal.actor,
        action="partner_list.import", object_type="partner_list", object_id=result.sha256[:16],
        after=_summary(result),
    )  # fmt: skip
    return result


def _summary(result: ImportResult) -> dict[str, Any]:
    pl = result.partner_list
    return {
        "jurisdiction": pl.jurisdiction,
        "source_title": pl.source_title,
        "source_url": pl.source_url,
        "date": pl.date.isoformat(),
        "sha256": result.sha256,
        "targets": len(pl.targets),
        **{r: result.count(r) for r in ("proposed", "draft", "existing", "unmatched")},
        "determinations": [
            o.determination_id for o in result.outcomes if o.result in ("proposed", "draft")
        ],
    }


@dataclass(frozen=True)
class Export:
    content: bytes
    media_type: str
    filename: str
    warnings: tuple[str, ...]


def export(
    session: Session, *, fmt: str, now: datetime, jurisdiction: str,
    source_title: str | None = None, source_url: str | None = None, pending: bool = False,
) -> Export:  # fmt: skip
    """Our determinations in force (``pending``: and those on their way) as a partner list."""
    found = our.our_targets(session, now=now, pending=pending)
    title = source_title or f"Determinations in force on {now.date().isoformat()}"
    pl = our.as_list(
        found, jurisdiction=jurisdiction, source_title=title, source_url=source_url, today=now
    )
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    name = f"partner-list-{now.date().isoformat()}.{fmt}"
    return Export(write(pl, fmt), media, name, found.warnings)


@dataclass(frozen=True)
class Compared:
    partner_list: PartnerList
    comparison: Comparison
    warnings: tuple[str, ...]


def compare_list(
    session: Session,
    data: bytes,
    *,
    fmt: str | None,
    now: datetime,
    max_bytes: int,
    pending: bool = False,
) -> Compared:
    """A partner's list (parsed all or nothing) against our determinations. Reads only."""
    pl = parse(data, fmt=fmt, max_bytes=max_bytes)
    found = our.our_targets(session, now=now, pending=pending)
    return Compared(pl, compare(found.targets, pl.targets), found.warnings)
