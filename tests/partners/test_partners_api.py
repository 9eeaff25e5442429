"""The partner-lists API on SQLite and PostgreSQL: imports make proposals that only another
user may decide, bad files import nothing, exports round-trip, comparisons read only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from appwarden.partners.parse import parse
from tests.decisions.support import (
    act,
    actors,
    counts,
    get,
    ok,
    problem,
    reach,
    stored_status,
)
from tests.partners.support import csv_list, seed, send
from tests.partners.test_format import example
from tests.server import Env

TIKTOK = "com.zhiliaoapp.musically,android,,ban,TikTok"
WECHAT = "com.tencent.mm,,,monitor,WeChat"
UNKNOWN_APP = "org.unknown.app,ios,,ban,Unknown"
BYTEDANCE = ",,ByteDance Ltd.,block,ByteDance"
NOBODY = ",,Nobody Inc.,ban,Nobody"


def test_import_proposes_cites_the_partner_and_reports_the_rest(env: Env) -> None:
    who, catalog = actors(env), seed(env)
    data = csv_list(TIKTOK, WECHAT, UNKNOWN_APP, BYTEDANCE, NOBODY)
    body = ok(send(env, who.ana, "import", data, scope=["government-issued"]), 201)
    assert (body["proposed"], body["draft"], body["existing"], body["unmatched"]) == (2, 1, 0, 2)
    results = {(o["target"]["app_id"] or o["target"]["publisher"]): o for o in body["outcomes"]}
    assert results["org.unknown.app"]["result"] == "unmatched"
    assert results["Nobody Inc."]["reason"] == "no publisher of this name in the catalog"
    assert results["com.tencent.mm"]["result"] == "draft"  # in the catalog, never assessed
    tiktok = get(
        env, who.aude, f"/determinations/{results[TIKTOK.split(',')[0]]['determination_id']}"
    )
    detail = ok(tiktok)
    assert detail["status"] == "proposed" and detail["proposed_by"] == "ana"
    assert detail["authority"] == "Partner: CA"
    assert (
        "Statement on TikTok" in detail["instrument"]
        and "https://example.org/s" in detail["instrument"]
    )
    assert "CA lists app com.zhiliaoapp.musically (android) for ban" in detail["rationale"]
    assert detail["scope"] == ["government-issued"]
    assert detail["evidence"] == [catalog.second_assessment]  # the newest assessment
    publisher = ok(
        get(env, who.aude, f"/determinations/{results['ByteDance Ltd.']['determination_id']}")
    )
    assert publisher["target"] == {
        **publisher["target"],
        "kind": "publisher",
        "publisher_id": catalog.bytedance,
    }
    assert publisher["action"] == "block" and publisher["status"] == "proposed"
    events = ok(get(env, who.aude, "/audit/events?action=partner_list.import"))["items"]
    assert len(events) == 1 and events[0]["actor"] == "ana"
    summary = events[0]["after"]
    assert (summary["proposed"], summary["draft"], summary["unmatched"]) == (2, 1, 2)
    assert summary["jurisdiction"] == "CA" and len(summary["sha256"]) == 64
    assert env.audit_ok().ok


def test_imported_proposals_need_another_user_to_decide(env: Env) -> None:
    who, _catalog = actors(env), seed(env)
    body = ok(send(env, who.ana, "import", csv_list(TIKTOK)), 201)
    number = body["outcomes"][0]["determination_id"]
    problem(act(env, who.ana, number, "approve_interim", {"note": "urgent"}), 403)
    assert stored_status(env, number) == "proposed"
    ok(act(env, who.alex, number, "approve_interim", {"note": "partner's urgency"}))
    assert stored_status(env, number) == "in_force"


def test_importing_again_makes_nothing_new(env: Env) -> None:
    who, _catalog = actors(env), seed(env)
    ok(send(env, who.ana, "import", csv_list(TIKTOK, WECHAT)), 201)
    before = counts(env)
    again = ok(send(env, who.ana, "import", csv_list(TIKTOK, WECHAT)), 201)
    assert again["existing"] == 2 and again["proposed"] == again["draft"] == 0
    after = counts(env)
    assert after["determinations"] == before["determinations"]
    assert after["audit_events"] == before["audit_events"] + 1  # the import itself


def test_json_import_by_content_type(env: Env) -> None:
    who, _catalog = actors(env), seed(env)
    body = ok(send(env, who.ana, "import", example("json"), "application/json"), 201)
    assert [o["result"] for o in body["outcomes"]] == ["proposed", "unmatched", "proposed", "draft"]
    assert body["partner_list"]["jurisdiction"] == "CA"


def test_bad_files_import_nothing_and_name_the_row(env: Env) -> None:
    who, _catalog = actors(env), seed(env)
    before = counts(env)
    cases = [
        (csv_list(TIKTOK, WECHAT, TIKTOK), "line 4", "repeats the target of line 2"),
        (csv_list(TIKTOK).replace(b"2023-02-27", b"2023-02-31"), "line 2", "not a date"),
        (csv_list(TIKTOK).replace(b"name\n", b"color\n"), "line 1", "unknown column 'color'"),
        (
            csv_list(TIKTOK, "com.b,android,,ban,Caf\u00e9").replace(b"\xc3\xa9", b"\xe9"),
            "line 3",
            "byte 0xE9 is not UTF-8",
        ),  # fmt: skip
        (b"", "", "the file is empty"),
        (b"jurisdiction,date,app_id,action\nCA,2023-02-27,a.b,ban\n", "line 1", "missing column"),
    ]
    for data, where, words in cases:
        refused = problem(send(env, who.ana, "import", data), 422, "invalid-partner-list")
        assert refused["where"] == where and words in refused["detail"], refused
    # One good row before a bad one: still nothing.
    bad_late = csv_list(TIKTOK, WECHAT, "com.c,android,,destroy,C")
    assert "line 4" in problem(send(env, who.ana, "import", bad_late), 422)["detail"]
    assert counts(env) == before


def test_a_file_over_the_limit_is_refused_unread(env: Env) -> None:
    who, _catalog = actors(env), seed(env)
    before = counts(env)
    big = csv_list(TIKTOK) + b"#" * (50 * 1024 * 1024)
    refused = problem(send(env, who.ana, "import", big), 413)
    assert "larger than 5242880 bytes" in refused["detail"]
    assert counts(env) == before


def test_only_proposers_import(env: Env) -> None:
    who, _catalog = actors(env), seed(env)
    for token in (who.aude, who.alex, who.olu):
        problem(send(env, token, "import", csv_list(TIKTOK)), 403)
    problem(env.client.post("/api/v1/partner-lists/import", content=csv_list(TIKTOK)), 401)
    assert counts(env)["determinations"] == 0


def test_export_round_trips_and_warns_of_what_it_cannot_say(env: Env) -> None:
    who, catalog = actors(env), seed(env)
    reach(env, who, catalog, "in_force")  # a publisher ban (ByteDance)
    app = {"kind": "app", "app_id": "com.zhiliaoapp.musically", "platform": "android"}
    reach(env, who, catalog, "in_force", target=app)
    pattern = {"kind": "pattern", "pattern": "com.kaspersky.*"}
    reach(env, who, catalog, "in_force", target=pattern)
    reach(env, who, catalog, "proposed", target={"kind": "app", "app_id": "com.tencent.mm"})
    for fmt in ("csv", "json"):
        response = env.client.get("/api/v1/partner-lists/export", headers=env.headers(who.aude),
                                  params={"jurisdiction": "GB", "format": fmt})  # fmt: skip
        assert response.status_code == 200, response.text
        warnings = json.loads(response.headers["AppWarden-Warnings"])
        assert len(warnings) == 1 and "com.kaspersky.*" in warnings[0]
        exported = parse(response.content, fmt=fmt, max_bytes=1 << 20)
        assert exported.jurisdiction == "GB"
        assert [(t.kind, t.value, t.platform, t.action) for t in exported.targets] == [
            ("publisher", "ByteDance Ltd.", None, "ban"),
            ("app", "com.zhiliaoapp.musically", "android", "ban"),
        ]
        compared = ok(send(env, who.aude, "compare", response.content,
                           "text/csv" if fmt == "csv" else "application/json"))  # fmt: skip
        assert (
            len(compared["both"]) == 2 and not compared["only_ours"] and not compared["only_theirs"]
        )
    params = {"jurisdiction": "GB", "pending": "true", "format": "csv"}
    pending = env.client.get(
        "/api/v1/partner-lists/export", headers=env.headers(who.aude), params=params
    )
    assert b"com.tencent.mm" in pending.content


def test_export_neutralises_formulas(env: Env) -> None:
    from sqlalchemy import update

    from appwarden.models import Base

    who, catalog = actors(env), seed(env)
    reach(env, who, catalog, "in_force")
    publishers = Base.metadata.tables["publishers"]
    with env.session() as session, session.begin():
        session.execute(update(publishers).where(publishers.c.id == catalog.bytedance)
                        .values(name='=HYPERLINK("http://evil.example","x")'))  # fmt: skip
    response = env.client.get("/api/v1/partner-lists/export", headers=env.headers(who.aude),
                              params={"jurisdiction": "+GB", "format": "csv"})  # fmt: skip
    text = response.content.decode()
    assert "'=HYPERLINK" in text and "'+GB" in text
    assert ",=" not in text and not text.split("\r\n")[1].startswith("+")


def test_compare_in_both_only_ours_only_theirs(env: Env) -> None:
    who, catalog = actors(env), seed(env)
    reach(
        env, who, catalog, "in_force", target={"kind": "app", "app_id": "com.zhiliaoapp.musically"}
    )
    lemon8 = reach(env, who, catalog, "in_force",
                   target={"kind": "publisher", "publisher_id": catalog.lemon8_ltd})  # fmt: skip
    before = counts(env)
    body = ok(send(env, who.aude, "compare", csv_list(TIKTOK, WECHAT)))
    assert [(p["theirs"]["app_id"], p["same_action"]) for p in body["both"]] == [
        ("com.zhiliaoapp.musically", True)
    ]
    assert [o["determination_id"] for o in body["only_ours"]] == [lemon8]
    assert [t["app_id"] for t in body["only_theirs"]] == ["com.tencent.mm"]
    assert counts(env) == before  # reads only
    problem(send(env, who.aude, "compare", b"\xff\xfeC\x00A\x00"), 422, "invalid-partner-list")


def test_a_bad_scope_is_refused_before_anything(env: Env) -> None:
    who, _catalog = actors(env), seed(env)
    before = counts(env)
    refused = problem(send(env, who.ana, "import", csv_list(TIKTOK), scope=["ok", "x" * 101]), 422)
    assert refused["detail"].startswith("scope[1]:")
    assert counts(env) == before


def test_a_failure_halfway_leaves_nothing(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second target's proposal fails after the first was made: all is rolled back."""
    from appwarden.errors import Conflict
    from appwarden.partners import service

    who, _catalog = actors(env), seed(env)
    before = counts(env)
    real = service.perform
    calls = []

    def failing_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 2:
            raise Conflict("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "perform", failing_second)
    problem(send(env, who.ana, "import", csv_list(TIKTOK, BYTEDANCE)), 409)
    assert len(calls) == 2
    assert counts(env) == before


def test_our_export_imports_back_as_the_same_targets(env: Env) -> None:
    who, catalog = actors(env), seed(env)
    reach(env, who, catalog, "in_force")  # ByteDance, a publisher
    tiktok = {"kind": "app", "app_id": "com.zhiliaoapp.musically", "platform": "android"}
    reach(env, who, catalog, "in_force", target=tiktok)
    exported = env.client.get("/api/v1/partner-lists/export", headers=env.headers(who.aude),
                              params={"jurisdiction": "GB"})  # fmt: skip
    body = ok(send(env, who.ana, "import", exported.content, "application/json"), 201)
    assert [(o["result"], o["determination_id"]) for o in body["outcomes"]] == [
        ("existing", 1),
        ("existing", 2),
    ]
