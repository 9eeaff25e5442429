"""The lifecycle through the API: the normal path with notice and reply, the interim path,
refusals with reasons, separation of duties, and that a refusal writes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from appwarden.auth.roles import Role
from tests.decisions.support import (
    act,
    actors,
    counts,
    draft_body,
    get,
    iso,
    ok,
    post,
    problem,
    promote,
    reach,
    seed_catalog,
    stored_status,
    user,
)
from tests.server import START, Env


def test_normal_path_with_notice_reply_and_approval_after_the_deadline(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    created = ok(post(env, who.ana, "/determinations", draft_body(catalog, expires_at=None)), 201)
    number = created["id"]
    assert created["status"] == "draft" and created["allowed_actions"] == ["propose"]
    assert created["target"]["publisher"] == "ByteDance Ltd."
    covered = {p["name"] for p in created["target"]["covers_publishers"]}
    assert covered == {"ByteDance Ltd.", "TikTok Pte. Ltd.", "Lemon8 Ltd."}

    proposed = ok(act(env, who.ana, number, "propose"))
    assert proposed["status"] == "proposed" and proposed["proposed_by"] == "ana"

    noticed = ok(act(env, who.ana, number, "send_notice"))
    deadline = START + timedelta(days=env.settings.reply_window_days)
    assert noticed["status"] == "notice"
    assert datetime.fromisoformat(noticed["notice"]["reply_deadline"]) == deadline
    assert noticed["notice"]["reply_window_open"] is True

    env.clock.advance(timedelta(days=3))
    reply = {"text": "We disagree: the data stays here.", "received_at": iso(env.clock.now())}
    replied = ok(post(env, who.ana, f"/determinations/{number}/reply", reply), 201)
    assert replied["reply"]["text"].startswith("We disagree") and replied["reply"]["late"] is False

    early = problem(act(env, who.alex, number, "approve", {"reply_considered": True}), 409)
    assert "reply deadline" in early["detail"]

    env.clock.set(deadline + timedelta(minutes=1))
    unconsidered = problem(act(env, who.alex, number, "approve"), 409, "invalid-transition")
    assert "reply_considered" in unconsidered["detail"]
    body = {"reply_considered": True, "note": "read"}
    approved = ok(act(env, who.alex, number, "approve", body))
    assert approved["status"] == "in_force" and approved["decided_by"] == "alex"
    assert approved["applies_now"] is True and approved["interim"] is False
    assert [e["action"] for e in approved["timeline"]] == [
        "create", "propose", "send_notice", "reply", "approve",
    ]  # fmt: skip
    assert approved["timeline"][-1]["from_status"] == "notice"
    assert approved["timeline"][-1]["to_status"] == "in_force"
    assert env.audit_ok().ok


def test_interim_path_is_flagged_and_its_notice_is_due(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "proposed")
    bare = problem(act(env, who.alex, number, "approve_interim"), 422)
    assert "note" in bare["detail"]
    interim = ok(act(env, who.alex, number, "approve_interim", {"note": "active exploitation"}))
    due = START + timedelta(days=env.settings.interim_notice_days)
    assert interim["status"] == "in_force" and interim["interim"] is True
    assert datetime.fromisoformat(interim["notice_due_at"]) == due
    assert interim["applies_now"] is True and interim["notice_overdue"] is False
    assert set(interim["allowed_actions"]) >= {"send_notice", "confirm", "rescind"}

    problem(act(env, who.bea, number, "confirm"), 409)  # no notice yet
    env.clock.set(due + timedelta(minutes=1))
    overdue = ok(get(env, who.ana, f"/determinations/{number}"))
    assert overdue["notice_overdue"] is True

    deadline = env.clock.now() + timedelta(days=2)
    sent = ok(act(env, who.ana, number, "send_notice", {"reply_deadline": iso(deadline)}))
    assert sent["status"] == "in_force" and sent["notice_overdue"] is False
    again = problem(act(env, who.ana, number, "send_notice"), 409)
    assert "already sent" in again["detail"]
    problem(act(env, who.bea, number, "confirm"), 409)  # the reply window is open
    env.clock.set(deadline)
    confirmed = ok(act(env, who.bea, number, "confirm"))
    assert confirmed["interim"] is False and confirmed["status"] == "in_force"
    assert env.audit_ok().ok


def test_propose_needs_evidence(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "draft", evidence=[])
    before = counts(env)
    refused = problem(act(env, who.ana, number, "propose"), 409, "invalid-transition")
    assert "evidence" in refused["detail"]
    assert counts(env) == before and stored_status(env, number) == "draft"


def test_the_approver_is_never_the_proposer(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "proposed")
    promote(env, "ana", Role.approver)  # the proposer, promoted, still may not decide
    before = counts(env)
    for action, body in (("approve_interim", {"note": "x"}), ("reject", {"note": "x"})):
        refused = problem(act(env, who.ana, number, action, body), 403, "separation-of-duties")
        assert "ana" in refused["detail"]
    assert counts(env) == before and stored_status(env, number) == "proposed"
    assert env.audit_ok().ok


def test_the_drafter_may_not_approve_what_another_proposed(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = ok(post(env, who.ana, "/determinations", draft_body(catalog)), 201)["id"]
    other = user(env, "ari", Role.analyst)
    ok(act(env, other, number, "propose"))
    promote(env, "ana", Role.approver)
    problem(act(env, who.ana, number, "approve_interim", {"note": "x"}), 403)


def test_roles_without_the_permission_are_refused(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "draft")
    before = counts(env)
    problem(act(env, who.alex, number, "propose"), 403, "forbidden")  # approvers do not propose
    problem(act(env, who.aude, number, "propose"), 403, "forbidden")
    proposed = reach(env, who, catalog, "proposed")
    before = counts(env)
    problem(act(env, who.ana, proposed, "reject", {"note": "x"}), 403, "forbidden")
    assert counts(env) == before
