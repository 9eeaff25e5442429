"""Helpers for determination and waiver tests: a small catalog, actors, ways to reach a status.

Catalog rows are written straight into the catalog's tables (by name), so these tests
depend on the catalog's schema only, not on its API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import httpx
from argon2 import PasswordHasher
from sqlalchemy import func, insert, select, text, update

from appwarden.auth import service as auth
from appwarden.auth.models import User
from appwarden.auth.roles import Role
from appwarden.models import Base
from tests.server import PASSWORD, START, Env, audited_changes

API = "/api/v1"
HOSTILE = "<script>alert(1)</script> **bold** | [link](http://evil.example)"
TABLES = (
    "determinations",
    "determination_events",
    "determination_evidence",
    "waivers",
    "audit_events",
    "idempotency_keys",
)


@dataclass
class Catalog:
    bytedance: int
    tiktok_ltd: int
    lemon8_ltd: int
    assessment: int
    second_assessment: int


@dataclass
class Actors:
    ana: str  # analyst: drafts, proposes, sends notices, records replies
    alex: str  # approver
    bea: str  # a second approver
    aude: str  # auditor: reads only
    olu: str  # operator: may request waivers


@cache
def _password_hash() -> str:
    return PasswordHasher().hash(PASSWORD)  # once: argon2 is slow on purpose


def user(env: Env, username: str, role: Role) -> str:
    """A user and a token that lasts a year (tests move the clock by months)."""
    with env.session() as session, session.begin():
        created = User(
            username=username, display_name=username.title(), role=role.value,
            password_hash=_password_hash(), totp_secret=None, active=True,
            created_at=env.clock.now(),
        )  # fmt: skip
        session.add(created)
        session.flush()
        _token, clear = auth.issue_token(
            session, clock=env.clock, user=created, name="test", days=366
        )
    return clear


def actors(env: Env) -> Actors:
    return Actors(
        ana=user(env, "ana", Role.analyst),
        alex=user(env, "alex", Role.approver),
        bea=user(env, "bea", Role.approver),
        aude=user(env, "aude", Role.auditor),
        olu=user(env, "olu", Role.operator),
    )


def _document(app_id: str, label: str) -> dict[str, Any]:
    return {
        "app": {"platform": "android", "id": app_id, "label": label, "version_name": "1.0"},
        "file": {"sha256": "ab" * 32, "name": "app.apk"},
        "score": {"total": 72, "grade": "F"},
        "verdict": "fail",
        "findings": [
            {
                "rule_id": "clipboard-read",
                "title": "Reads the clipboard",
                "severity": "high",
                "category": "privacy",
                "description": "Reads what the user copied. " + HOSTILE,
                "evidence": ["android.content.ClipboardManager.getPrimaryClip", HOSTILE],
            }
        ],
        "trackers": [{"name": "Pangle", "categories": ["advertisement"]}],
    }


def seed_catalog(env: Env) -> Catalog:
    """ByteDance with two affiliates, TikTok, and two assessments of it."""
    t = Base.metadata.tables
    now = START
    with env.session() as session, session.begin():

        def add(table: str, **values: Any) -> Any:
            return session.execute(insert(t[table]).values(**values)).inserted_primary_key[0]

        parent = add("publishers", name="ByteDance Ltd.", jurisdiction="CN", created_at=now)
        tiktok = add(
            "publishers", name="TikTok Pte. Ltd.", jurisdiction="SG", parent_id=parent,
            created_at=now,
        )  # fmt: skip
        lemon8 = add(
            "publishers", name="Lemon8 Ltd.", jurisdiction="SG", parent_id=parent, created_at=now
        )
        app = add(
            "apps", platform="android", app_id="com.zhiliaoapp.musically", name="TikTok",
            publisher_id=tiktok, created_at=now,
        )  # fmt: skip
        ids = []
        for digit in ("a", "b"):
            sha = digit * 64
            session.execute(
                insert(t["blobs"]).values(sha256=sha, size=1, kind="apk", stored_at=now)
            )
            ids.append(
                add(
                    "assessments",
                    app_id=app,
                    blob_sha256=sha,
                    file_name="tiktok.apk",
                    version_name="1.0",
                    verdict="fail",
                    score_total=72,
                    grade="F",
                    document=_document("com.zhiliaoapp.musically", "TikTok"),
                    uploaded_by="ana",
                    created_at=now,
                )  # fmt: skip
            )
    return Catalog(parent, tiktok, lemon8, ids[0], ids[1])


def draft_body(catalog: Catalog, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "TikTok on government devices",
        "target": {"kind": "publisher", "publisher_id": catalog.bytedance},
        "action": "ban",
        "scope": ["government-issued"],
        "authority": "Chief Information Officer",
        "instrument": "Policy on Service and Digital, 4.4.2.4",
        "rationale": "Unacceptable level of risk to privacy and security.",
        "evidence": [catalog.assessment],
        "review_at": iso(START + timedelta(days=60)),
        "expires_at": iso(START + timedelta(days=90)),
    }
    body.update(changes)
    return body


def iso(moment: datetime) -> str:
    return moment.isoformat()


def post(
    env: Env, token: str, path: str, body: Any = None, key: str | None = None
) -> httpx.Response:
    headers = env.headers(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    return env.client.post(f"{API}{path}", json=body, headers=headers)


def get(env: Env, token: str, path: str) -> httpx.Response:
    return env.client.get(f"{API}{path}", headers=env.headers(token))


def act(
    env: Env, token: str, determination_id: int, action: str, body: Any = None
) -> httpx.Response:
    path = f"/determinations/{determination_id}/{action.replace('_', '-')}"
    return post(env, token, path, {} if body is None else body)


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def problem(response: httpx.Response, status: int, kind: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    if kind is not None:
        assert body["type"] == f"urn:appwarden:problem:{kind}", body
    return body


def counts(env: Env) -> dict[str, int]:
    """Rows in each table, audit events of changes only (a refusal's own event aside)."""
    t = Base.metadata.tables
    with env.session() as session:
        found = {
            name: int(session.scalar(select(func.count()).select_from(t[name])) or 0)
            for name in TABLES
            if name != "audit_events"
        }
        if "audit_events" in TABLES:
            found["audit_events"] = audited_changes(session)
        return found


def stored_status(env: Env, determination_id: int) -> str:
    with env.session() as session:
        value = session.scalar(
            text("SELECT status FROM determinations WHERE id = :id"), {"id": determination_id}
        )
    return str(value)


def promote(env: Env, username: str, role: Role) -> None:
    """Change a user's role in place (a promotion), keeping their tokens."""
    with env.session() as session, session.begin():
        users = Base.metadata.tables["users"]
        session.execute(update(users).where(users.c.username == username).values(role=role.value))


REPLY_DAYS = 2


def reach(env: Env, who: Actors, catalog: Catalog, status: str, **body: Any) -> int:
    """A new determination, moved through the API to ``status`` (``in_force_interim``:
    in force as an interim measure). The clock moves past the reply window for in_force."""
    created = ok(post(env, who.ana, "/determinations", draft_body(catalog, **body)), 201)
    number = int(created["id"])
    if status == "draft":
        return number
    ok(act(env, who.ana, number, "propose"))
    if status == "proposed":
        return number
    if status in ("in_force_interim", "rejected"):
        action = "approve_interim" if status == "in_force_interim" else "reject"
        ok(act(env, who.alex, number, action, {"note": "urgent"}))
        return number
    deadline = env.clock.now() + timedelta(days=REPLY_DAYS)
    ok(act(env, who.ana, number, "send_notice", {"reply_deadline": iso(deadline)}))
    if status == "notice":
        return number
    env.clock.advance(timedelta(days=REPLY_DAYS, hours=1))
    ok(act(env, who.alex, number, "approve"))
    if status == "in_force":
        return number
    if status == "rescinded":
        ok(act(env, who.alex, number, "rescind", {"note": "no longer needed"}))
        return number
    assert status == "expired", status
    expires = datetime.fromisoformat(created["expires_at"])
    env.clock.set(expires + timedelta(minutes=1))
    return number
