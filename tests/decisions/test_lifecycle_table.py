"""docs/lifecycle.md is the lifecycle: every row is enforced, every other pair refused.

The table is loaded here too, so a row added without code (or code without a row) fails.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from appwarden.app import create_app
from appwarden.audit.models import AuditEvent
from appwarden.auth.service import SYSTEM
from appwarden.config import Settings
from appwarden.decisions import service
from appwarden.decisions.lifecycle import Status, lifecycle, parse
from appwarden.decisions.transitions import CHECKS, EFFECTS
from tests.decisions.support import (
    Actors,
    act,
    actors,
    counts,
    get,
    iso,
    ok,
    problem,
    reach,
    seed_catalog,
    stored_status,
)
from tests.server import Env

DOCS = Path(__file__).resolve().parents[2] / "docs"
TABLE = lifecycle()
USER_ROWS = [r for r in TABLE.transitions if not r.by_system]


def test_docs_and_code_read_one_file() -> None:
    doc = DOCS / "lifecycle.md"
    assert doc.is_symlink(), "docs/lifecycle.md must link to src/appwarden/decisions/"
    assert parse(doc.read_text(encoding="utf-8")) == TABLE


def test_every_condition_has_a_check_and_every_action_an_effect() -> None:
    named = {c for row in TABLE.transitions for c in row.conditions}
    assert named == set(TABLE.conditions) == set(CHECKS)
    assert set(TABLE.actions) == set(EFFECTS)
    assert {r.target for r in TABLE.transitions} | {Status.draft} == set(Status)


def test_the_table_is_the_designed_lifecycle() -> None:
    pairs = {(r.source.value, r.action, r.target.value) for r in TABLE.transitions}
    assert ("draft", "propose", "proposed") in pairs
    assert ("proposed", "send_notice", "notice") in pairs
    assert ("notice", "approve", "in_force") in pairs
    assert ("proposed", "approve_interim", "in_force") in pairs
    assert {("proposed", "reject", "rejected"), ("notice", "reject", "rejected")} <= pairs
    assert {("in_force", "rescind", "rescinded"), ("in_force", "expire", "expired")} <= pairs
    for final in ("rejected", "rescinded", "expired"):
        assert not [p for p in pairs if p[0] == final], final


def test_malformed_tables_are_refused() -> None:
    text = (DOCS / "lifecycle.md").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="undefined conditions"):
        parse(text.replace("| `evidence`, `dates_ahead` |", "| `evidence`, `luck` |"))
    with pytest.raises(ValueError):
        parse(text.replace("| draft | propose | proposed |", "| draft | propose | limbo |"))


def test_each_action_is_a_route_declaring_its_permission(tmp_path: Path) -> None:
    schema = create_app(Settings(data_dir=tmp_path, audit_key="k")).openapi()
    for action in TABLE.actions:
        path = f"/api/v1/determinations/{{determination_id}}/{action.replace('_', '-')}"
        operation = schema["paths"][path]["post"]
        assert operation["x-permission"] == TABLE.permission_of(action).value
    assert not [p for p in schema["paths"] if p.endswith("/expire")]  # the system's alone


def _past_deadline(env: Env, who: Actors, number: int) -> None:
    detail = ok(get(env, who.ana, f"/determinations/{number}"))
    deadline = detail["notice"]["reply_deadline"]
    env.clock.set(datetime.fromisoformat(deadline))


def _notice_sent(env: Env, who: Actors, number: int) -> None:
    deadline = env.clock.now() + timedelta(days=2)
    ok(act(env, who.ana, number, "send_notice", {"reply_deadline": iso(deadline)}))


def _noticed_and_past(env: Env, who: Actors, number: int) -> None:
    _notice_sent(env, who, number)
    _past_deadline(env, who, number)


def _nothing(env: Env, who: Actors, number: int) -> None:
    return None


Prep = Callable[[Env, Actors, int], None]
#: (from, action) → (reached status, preparation, acting user, body, expected details)
ROWS: dict[tuple[str, str], tuple[str, Prep, str, dict[str, Any]]] = {
    ("draft", "propose"): ("draft", _nothing, "ana", {}),
    ("proposed", "send_notice"): ("proposed", _nothing, "ana", {}),
    ("proposed", "approve_interim"): ("proposed", _nothing, "alex", {"note": "urgent"}),
    ("proposed", "reject"): ("proposed", _nothing, "alex", {"note": "weak evidence"}),
    ("notice", "approve"): ("notice", _past_deadline, "alex", {}),
    ("notice", "reject"): ("notice", _nothing, "alex", {"note": "the vendor fixed it"}),
    ("in_force", "send_notice"): ("in_force_interim", _nothing, "ana", {}),
    ("in_force", "confirm"): ("in_force_interim", _noticed_and_past, "bea", {}),
    ("in_force", "renew"): (
        "in_force",
        _nothing,
        "alex",
        {"review_at": "+100", "expires_at": "+120"},
    ),  # fmt: skip
    ("in_force", "rescind"): ("in_force", _nothing, "alex", {"note": "superseded"}),
}


def test_every_user_row_has_a_test() -> None:
    assert set(ROWS) == {(r.source.value, r.action) for r in USER_ROWS}


def _dated(env: Env, body: dict[str, Any]) -> dict[str, Any]:
    return {
        k: iso(env.clock.now() + timedelta(days=int(v[1:])))
        if isinstance(v, str) and v.startswith("+")
        else v
        for k, v in body.items()
    }


@pytest.mark.parametrize("row", USER_ROWS, ids=lambda r: f"{r.source.value}-{r.action}")
def test_every_row_is_enforced(env: Env, row: Any) -> None:
    who, catalog = actors(env), seed_catalog(env)
    reached, prepare, actor, body = ROWS[(row.source.value, row.action)]
    number = reach(env, who, catalog, reached)
    prepare(env, who, number)
    before = counts(env)
    done = ok(act(env, getattr(who, actor), number, row.action, _dated(env, body)))
    assert done["status"] == row.target.value == stored_status(env, number)
    last = done["timeline"][-1]
    assert (last["action"], last["from_status"], last["to_status"], last["actor"]) == (
        row.action, row.source.value, row.target.value, actor,
    )  # fmt: skip
    after = counts(env)
    assert after["determination_events"] == before["determination_events"] + 1
    assert after["audit_events"] == before["audit_events"] + 1
    with env.session() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None and event.action == f"determination.{row.action}"
    assert (event.actor, event.object_type, event.object_id) == (
        actor,
        "determination",
        str(number),
    )
    assert event.before == {"status": row.source.value}
    assert event.after is not None and event.after["status"] == row.target.value
    assert env.audit_ok().ok


def test_the_system_row_expire(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "expired")
    shown = ok(get(env, who.aude, f"/determinations/{number}"))
    assert shown["status"] == "expired" and shown["stored_status"] == "in_force"
    assert shown["applies_now"] is False and shown["allowed_actions"] == []
    with env.session() as session, session.begin():
        acting = service.Acting(
            session, env.clock, env.settings.audit_secret(), env.settings, SYSTEM
        )
        assert service.expire_lapsed(acting) == [number]
        assert service.expire_lapsed(acting) == []
    assert stored_status(env, number) == "expired"
    last = ok(get(env, who.aude, f"/determinations/{number}"))["timeline"][-1]
    assert (last["action"], last["actor"], last["to_status"]) == ("expire", "system", "expired")
    assert env.audit_ok().ok


#: A body each action accepts, so that only the status can refuse it.
BODIES = {
    "send_notice": {"note": "n"},
    "approve": {"note": "n", "reply_considered": True},
    "confirm": {"note": "n", "reply_considered": True},
    "renew": {"review_at": "+200"},
}
STATUSES = ["draft", "proposed", "notice", "in_force", "rejected", "rescinded", "expired"]


@pytest.mark.parametrize("status", STATUSES)
def test_every_other_pair_is_refused_with_the_reason(env: Env, status: str) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, status)
    allowed = TABLE.allowed_from(Status(status))
    before = counts(env)
    for action in TABLE.actions:
        if action in allowed:
            continue
        actor = who.ana if TABLE.permission_of(action).value == "propose" else who.alex
        body = _dated(env, BODIES.get(action, {"note": "n"}))
        refused = problem(act(env, actor, number, action, body), 409, "invalid-transition")
        assert f"cannot {action} a determination that is {status}" in refused["detail"]
        assert refused["allowed_actions"] == allowed and refused["current_status"] == status
    assert counts(env) == before
    assert env.audit_ok().ok
