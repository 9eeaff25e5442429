"""The vendor notice (HTML and Markdown) from the evidence, and the vendor's reply."""

from __future__ import annotations

from datetime import timedelta

from tests.decisions.support import (
    HOSTILE,
    act,
    actors,
    counts,
    get,
    iso,
    ok,
    post,
    problem,
    reach,
    seed_catalog,
)
from tests.server import START, Env


def test_preview_then_the_notice_as_sent(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "proposed")
    preview = get(env, who.aude, f"/determinations/{number}/notice.html")
    assert preview.status_code == 200 and preview.headers["content-type"].startswith("text/html")
    assert "DRAFT — not sent" in preview.text
    assert "script-src" not in preview.headers["content-security-policy"]
    assert preview.headers["content-security-policy"].startswith("default-src 'none'")
    ok(act(env, who.ana, number, "send_notice"))
    sent = get(env, who.aude, f"/determinations/{number}/notice.html").text
    assert "DRAFT" not in sent
    for expected in (
        "Notice of proposed determination",
        "TikTok Pte. Ltd.",  # addressed to the app's publisher
        "any app developed or provided by ByteDance Ltd., including its affiliates "
        "Lemon8 Ltd., TikTok Pte. Ltd.",
        "remove the app from managed devices",
        "Reads the clipboard",  # a finding of the cited assessment
        "android.content.ClipboardManager.getPrimaryClip",  # its evidence
        "Pangle",  # a tracker
        "Reply by 2026-12-23 09:00 UTC",
        "Policy on Service and Digital",
    ):
        assert expected in sent, expected
    assert "<script>" not in sent and "&lt;script&gt;" in sent  # hostile text escaped
    assert "http://" not in sent.replace("http://evil.example", "")  # nothing to fetch
    assert "<link" not in sent and "src=" not in sent


def test_markdown_notice_escapes_hostile_text(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "notice")
    response = get(env, who.aude, f"/determinations/{number}/notice.md")
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert text.startswith("# Notice of proposed determination")
    assert "| Severity | Finding | Evidence |" in text
    assert "Reply by 2026-11-25 09:00 UTC" in text
    assert HOSTILE not in text
    assert "&lt;script&gt;" in text and r"\*\*bold\*\*" in text and r"\[link\]" in text


def test_the_notice_sent_is_frozen(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "notice")
    before = get(env, who.aude, f"/determinations/{number}/notice.md").text
    with env.session() as session, session.begin():
        from sqlalchemy import text

        session.execute(text("UPDATE assessments SET document = '{}'"))
    assert get(env, who.aude, f"/determinations/{number}/notice.md").text == before


def test_interim_notice_says_it_is_in_force(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force_interim")
    text = get(env, who.aude, f"/determinations/{number}/notice.md").text
    assert "Notice of interim determination" in text and "already in force" in text


def test_reply_is_recorded_once_against_an_open_notice(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    proposed = reach(env, who, catalog, "proposed")
    reply = {"text": "We object.", "received_at": iso(START), "sender": "Legal, TikTok"}
    before = counts(env)
    no_notice = problem(post(env, who.ana, f"/determinations/{proposed}/reply", reply), 409)
    assert "no notice" in no_notice["detail"]
    number = reach(env, who, catalog, "notice")
    base = f"/determinations/{number}/reply"
    future = {**reply, "received_at": iso(env.clock.now() + timedelta(hours=1))}
    problem(post(env, who.ana, base, future), 422)
    problem(post(env, who.ana, base, {**reply, "received_at": iso(START - timedelta(days=1))}), 422)
    problem(post(env, who.ana, base, {"text": ""}), 422)
    problem(post(env, who.aude, base, reply), 403)
    problem(post(env, who.alex, base, reply), 403)  # approvers decide; analysts record
    after_refusals = counts(env)
    assert after_refusals["determination_events"] == before["determination_events"] + 3
    recorded = ok(post(env, who.ana, base, reply, key="reply-1"), 201)
    assert (
        recorded["reply"]["sender"] == "Legal, TikTok" and recorded["reply"]["recorded_by"] == "ana"
    )
    assert post(env, who.ana, base, reply, key="reply-1").json() == recorded  # a retry
    twice = problem(post(env, who.ana, base, reply), 409)
    assert "already recorded" in twice["detail"]
    assert counts(env)["determination_events"] == after_refusals["determination_events"] + 1
    assert env.audit_ok().ok


def test_a_late_reply_is_flagged(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "notice")
    env.clock.advance(timedelta(days=5))
    late = {"text": "Sorry for the delay.", "received_at": iso(env.clock.now())}
    assert ok(post(env, who.ana, f"/determinations/{number}/reply", late), 201)["reply"]["late"]
    refused = problem(act(env, who.alex, number, "approve"), 409)
    assert "reply_considered" in refused["detail"]
    approved = ok(act(env, who.alex, number, "approve", {"reply_considered": True}))
    assert approved["timeline"][-1]["details"] == {"reply_considered": True}
