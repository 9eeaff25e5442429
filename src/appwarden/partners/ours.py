"""Our determinations as partner-list targets: what we export, and what a comparison
reads as "ours". Determinations on an app id or a publisher only: a pattern or a signer
certificate has no place in the format and is named in a warning, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.orm import Session

from appwarden.decisions import service as decisions
from appwarden.decisions.lifecycle import Status, status_clause
from appwarden.decisions.models import Determination
from appwarden.partners.compare import Ours
from appwarden.partners.format import PartnerList, Target

#: What "pending" adds to the determinations in force.
PENDING = (Status.draft, Status.proposed, Status.notice)


@dataclass(frozen=True)
class OurTargets:
    targets: tuple[Ours, ...]
    warnings: tuple[str, ...]


def _rows(session: Session, now: datetime, *, pending: bool) -> list[Determination]:
    wanted = [Status.in_force, *(PENDING if pending else ())]
    clauses = [
        status_clause(Determination.status, Determination.expires_at, s, now) for s in wanted
    ]
    query = decisions.query(now=now).where(or_(*clauses))
    return list(session.scalars(query))


def our_targets(session: Session, *, now: datetime, pending: bool = False) -> OurTargets:
    """Determinations in force (and, if ``pending``, drafts, proposals and notices), oldest
    first; one target per app id/platform or publisher (the oldest determination wins)."""
    rows = _rows(session, now, pending=pending)
    publisher_ids = {d.publisher_id for d in rows if d.publisher_id is not None}
    names = decisions.publisher_names(session, publisher_ids)
    targets: list[Ours] = []
    warnings: list[str] = []
    for d in rows:
        status = decisions.current_status(d, now).value
        if d.target_kind == "app":
            target = Target(action=d.action, app_id=d.target_value, platform=d.platform,
                            reference=f"determination {d.id}")  # fmt: skip
        elif d.target_kind == "publisher" and d.publisher_id in names:
            target = Target(action=d.action, publisher=names[d.publisher_id],
                            reference=f"determination {d.id}")  # fmt: skip
        else:
            warnings.append(
                f"determination {d.id} targets a {d.target_kind} ({d.target_value}), "
                "which a partner list cannot express: left out"
            )
            continue
        same = next((o for o in targets if o.target.overlaps(target)), None)
        if same is not None:
            warnings.append(
                f"determination {d.id} has the target of determination "
                f"{same.determination_id} ({target.label()}): listed once"
            )
            continue
        targets.append(Ours(target, d.id, status))
    return OurTargets(tuple(targets), tuple(warnings))


def as_list(
    ours: OurTargets,
    *,
    jurisdiction: str,
    source_title: str,
    source_url: str | None,
    today: datetime,
) -> PartnerList:
    return PartnerList(
        jurisdiction=jurisdiction,
        source_title=source_title,
        source_url=source_url,
        date=today.date(),
        targets=tuple(o.target for o in ours.targets),
    )
