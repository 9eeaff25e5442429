"""The vendor notice: what was found, the decision proposed, and until when to reply.

Built from the determination and the JSON documents of the assessments it cites (their
findings and trackers), rendered as self-contained printable HTML (autoescaped) and as
Markdown (every value escaped, see :func:`appwarden.reports.markdown.md_escape`). The
notice sent is stored as sent; before that, the same rendering serves as a preview.
Everything taken from an app file is hostile text and is only ever escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from appwarden.decisions.models import Determination
from appwarden.decisions.service import assessments, publisher_family, publisher_names
from appwarden.reports.markdown import Md, bullets, code, codes, md_escape, strong
from appwarden.reports.markdown import table as md_table

apps = table("apps", column("id"), column("app_id"), column("publisher_id"))

ACTION_WORDS = {
    "ban": "remove the app from managed devices and block it from being installed again",
    "block": "block new installations on managed devices (copies already installed stay)",
    "allow": "allow it on managed devices that run in allow-list mode",
    "monitor": "monitor its presence on managed devices, without removing or blocking it",
}
MAX_EVIDENCE_ITEMS = 10


@dataclass(frozen=True)
class Found:
    """One cited assessment, as the vendor will read it."""

    assessment_id: int
    app: str
    app_id: str
    platform: str
    version: str
    sha256: str
    verdict: str
    score: str
    grade: str
    findings: list[dict[str, Any]]
    trackers: list[dict[str, Any]]


@dataclass(frozen=True)
class Notice:
    determination: Determination
    draft: bool
    addressees: list[str]
    target: str
    action: str
    scope: str
    reply_deadline: datetime | None
    window_days: int | None
    found: list[Found] = field(default_factory=list)


def _text(value: object, default: str = "(not stated)") -> str:
    return default if value is None or value == "" else str(value)


def _found(assessment_id: int, document: Any) -> Found:
    doc = document if isinstance(document, dict) else {}
    app, file, score = doc.get("app") or {}, doc.get("file") or {}, doc.get("score") or {}
    findings = [
        {
            "severity": _text(f.get("severity")),
            "title": _text(f.get("title")),
            "category": _text(f.get("category")),
            "description": _text(f.get("description"), ""),
            "evidence": [str(e) for e in (f.get("evidence") or [])[:MAX_EVIDENCE_ITEMS]],
            "more": max(len(f.get("evidence") or []) - MAX_EVIDENCE_ITEMS, 0),
        }
        for f in doc.get("findings") or []
        if isinstance(f, dict)
    ]
    trackers = [
        {
            "name": _text(t.get("name")),
            "categories": ", ".join(map(str, t.get("categories") or [])),
        }
        for t in doc.get("trackers") or []
        if isinstance(t, dict)
    ]
    return Found(
        assessment_id=assessment_id,
        app=_text(app.get("label") or app.get("id")),
        app_id=_text(app.get("id")),
        platform=_text(app.get("platform")),
        version=_text(app.get("version_name")),
        sha256=_text(file.get("sha256")),
        verdict=_text(doc.get("verdict")).upper(),
        score=_text(score.get("total")),
        grade=_text(score.get("grade")),
        findings=findings,
        trackers=trackers,
    )


def _target_words(session: Session, d: Determination) -> str:
    platform = f" ({d.platform})" if d.platform else ""
    if d.target_kind == "app":
        return f"the app {d.target_value}{platform}"
    if d.target_kind == "pattern":
        return f"every app whose id matches {d.target_value}{platform}"
    if d.target_kind == "signer":
        return f"every app signed with the certificate whose SHA-256 is {d.target_value}"
    assert d.publisher_id is not None  # noqa: S101 (the table's check constraint)
    family = publisher_family(session, d.publisher_id)
    names = publisher_names(session, family)
    main = names.get(d.publisher_id, f"publisher {d.publisher_id}")
    others = sorted(n for i, n in names.items() if i != d.publisher_id)
    tail = f", including its affiliates {', '.join(others)}" if others else ""
    return f"any app developed or provided by {main}{tail}"


def _scope_words(scope: list[str]) -> str:
    if "*" in scope:
        return "every managed device"
    return "the managed devices in the group" + ("s " if len(scope) > 1 else " ") + ", ".join(scope)


def _addressees(session: Session, d: Determination, found: list[Found]) -> list[str]:
    ids: set[int] = {d.publisher_id} if d.publisher_id else set()
    app_ids = {f.app_id for f in found} | ({d.target_value} if d.target_kind == "app" else set())
    rows = session.scalars(select(apps.c.publisher_id).where(apps.c.app_id.in_(app_ids)))
    ids |= {int(i) for i in rows if i is not None}
    names = sorted(publisher_names(session, ids).values())
    return names or ["The developer or provider of the app(s) concerned"]


def build(session: Session, d: Determination, *, now: datetime, window_days: int = 30) -> Notice:
    """The notice's content; a draft (preview) until the notice is sent."""
    rows = session.execute(
        select(assessments.c.id, assessments.c.document)
        .where(assessments.c.id.in_(d.evidence))
        .order_by(assessments.c.id)
    )
    found = [_found(int(row.id), row.document) for row in rows]
    sent = d.notice_sent_at is not None or d.reply_deadline is not None
    return Notice(
        determination=d,
        draft=not sent,
        addressees=_addressees(session, d, found),
        target=_target_words(session, d),
        action=ACTION_WORDS.get(d.action, d.action),
        scope=_scope_words(d.scope),
        reply_deadline=d.reply_deadline,
        window_days=None if sent else window_days,
        found=found,
    )


def _date(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "(not set)"


@cache
def _html_env() -> Environment:
    env = Environment(
        loader=PackageLoader("appwarden.decisions", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date"] = _date
    return env


@cache
def _md_env() -> Environment:
    env = Environment(
        loader=PackageLoader("appwarden.decisions", "templates"),
        autoescape=False,  # noqa: S701 (Markdown: `finalize` escapes every value instead)
        finalize=md_escape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        date=_date,
        bullets=bullets,
        code=code,
        strong=strong,
        table=md_table,
        finding_rows=_finding_rows,
        tracker_labels=_tracker_labels,
    )
    return env


def _finding_rows(findings: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for f in findings:
        what = f"{strong(f['title'])} ({md_escape(f['category'])}): {md_escape(f['description'])}"
        evidence = codes(f["evidence"]) + (f" and {f['more']} more" if f["more"] else "")
        rows.append((f["severity"], Md(what), Md(evidence)))
    return rows


def _tracker_labels(trackers: list[dict[str, Any]]) -> list[str]:
    return [f"{t['name']} ({t['categories']})" if t["categories"] else t["name"] for t in trackers]


def html(notice: Notice) -> str:
    """The notice as one printable HTML page that loads nothing."""
    return _html_env().get_template("notice.html.j2").render(n=notice, d=notice.determination)


def markdown(notice: Notice) -> str:
    """The notice as Markdown, every value escaped."""
    text = _md_env().get_template("notice.md.j2").render(n=notice, d=notice.determination)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
