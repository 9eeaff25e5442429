"""``GET /api/v1/reports/compliance``: a report as of a past date gives that date's numbers,
in JSON, CSV and HTML; bad input gets a clear 4xx."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

from appwarden.compliance_report.formats import CSV_COLUMNS
from tests.compliance.support import TIKTOK, Phone
from tests.compliance_report.support import DEADLINE, report, scene
from tests.decisions.support import iso, ok, post, problem
from tests.server import START, Env


def test_as_of_before_and_after_a_removal(env: Env) -> None:
    s = scene(env)
    then = ok(report(env, s.who.aude, as_of=iso(s.before), determination=s.number))
    assert then["in_scope"] == 3 and then["removed"] == 0
    assert then["counts"]["non_compliant"] == 2 and then["counts"]["compliant"] == 0
    assert then["counts"]["exempt"] == 1
    section = then["determinations"][0]
    assert section["deadline"]["outcome"] == "not_due"
    assert {line["deadline"] for line in section["devices"]} == {"not_due"}

    now = ok(report(env, s.who.aude, determination=s.number))
    assert now["counts"]["compliant"] == 1 and now["counts"]["non_compliant"] == 1
    assert now["removed"] == 1
    lines = {line["device_id"]: line for line in now["determinations"][0]["devices"]}
    assert lines[s.one.id]["removed"] is True
    assert lines[s.one.id]["removed_at"] == s.removed_at.isoformat().replace("+00:00", "Z")
    assert (lines[s.one.id]["deadline"], lines[s.two.id]["deadline"]) == ("met", "missed")
    assert lines[s.three.id]["deadline"] == "not_counted"
    assert lines[s.three.id]["status"] == "exempt"
    [waiver] = lines[s.three.id]["waivers"]
    assert (waiver["waiver_id"], waiver["reason"]) == (s.waiver_id, "law_enforcement")
    assert waiver["mitigations"] == ["no government data on the device"]
    deadline = now["determinations"][0]["deadline"]
    assert (deadline["outcome"], deadline["counted"], deadline["met"], deadline["missed"]) == (
        "missed", 2, 1, 1,
    )  # fmt: skip
    assert now["deadlines"] == {"met": 0, "missed": 1, "not_due": 0, "none": 0}

    # A date alone is the end of that day in UTC (capped at now, as here: today).
    today = ok(report(env, s.who.aude, as_of=START.date().isoformat()))
    assert today["counts"] == now["counts"] and today["determination_id"] is None


def test_a_later_change_leaves_a_past_report_as_it_was(env: Env) -> None:
    s = scene(env)
    at = env.clock.now()
    first = report(env, s.who.aude, as_of=iso(at), format="csv").content
    env.clock.advance(timedelta(minutes=5))
    ok(s.two.report({}))  # two removes it now: after the report's date
    assert report(env, s.who.aude, as_of=iso(at), format="csv").content == first
    later = ok(report(env, s.who.aude))
    assert later["removed"] == 2 and later["counts"]["non_compliant"] == 0
    line = [d for d in later["determinations"][0]["devices"] if d["device_id"] == s.two.id][0]
    assert line["deadline"] == "missed"  # compliant now, but not at the deadline


def test_csv_and_html(env: Env) -> None:
    s = scene(env)
    response = report(env, s.who.olu, format="csv", determination=s.number)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert sorted(r["device_id"] for r in rows) == sorted([s.one.id, s.two.id, s.three.id])
    waived = [r for r in rows if r["device_id"] == s.three.id][0]
    assert (waived["status"], waived["waiver_reasons"]) == ("exempt", "law_enforcement")
    assert waived["waiver_expiries"] == s.waiver_expires.isoformat()
    assert [r["removed"] for r in rows if r["device_id"] == s.one.id] == ["yes"]

    page = report(env, s.who.aude, format="html", as_of=iso(DEADLINE))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    text = page.text
    assert "<svg" in text and 'role="img"' in text and "@media print" in text
    assert "<script" not in text and not re.search(r'(src|href)="(https?:)?//', text)
    assert "waiver " + str(s.waiver_id) + ": law enforcement" in text


def test_bad_input_gets_clear_errors(env: Env) -> None:
    s = scene(env)
    token = s.who.aude
    future = iso(env.clock.now() + timedelta(minutes=1))
    assert "future" in problem(report(env, token, as_of=future), 422)["detail"]
    tomorrow = (env.clock.now() + timedelta(days=1)).date().isoformat()
    assert "future" in problem(report(env, token, as_of=tomorrow), 422)["detail"]
    assert "neither a date" in problem(report(env, token, as_of="last tuesday"), 422)["detail"]
    assert "exists" in problem(report(env, token, as_of="2026-02-30"), 422)["detail"]
    assert "time zone" in problem(report(env, token, as_of="2026-11-23T10:00:00"), 422)["detail"]
    early = iso(START - timedelta(days=1))
    assert "before the first" in problem(report(env, token, as_of=early), 422)["detail"]
    assert "9999" in problem(report(env, token, determination=9999), 404)["detail"]
    problem(report(env, token, format="pdf"), 422)
    problem(report(env, token, determination=0), 422)
    anonymous = env.client.get("/api/v1/reports/compliance")
    assert anonymous.status_code == 401


def test_no_history_yet_is_a_clear_error(env: Env) -> None:
    from tests.decisions.support import actors

    who = actors(env)
    body = problem(report(env, who.aude), 422)
    assert body["detail"] == "no compliance has been recorded yet for any determination"
    assert json.dumps(body)  # a problem document, not a file


def test_the_deadline_counts_devices_that_have_left_the_scope_since(env: Env) -> None:
    s = scene(env)
    while_in_force = env.clock.now()
    env.clock.advance(timedelta(minutes=5))
    ok(post(env, s.who.alex, f"/determinations/{s.number}/rescind", {"note": "done"}))
    for phone in (s.one, s.two, s.three):
        phone.policy()  # the next version, without the rule
    now = ok(report(env, s.who.aude, determination=s.number))
    section = now["determinations"][0]
    assert (now["in_scope"], section["devices"]) == (0, [])
    deadline = section["deadline"]
    assert (deadline["outcome"], deadline["met"], deadline["missed"]) == ("missed", 1, 1)
    assert ok(report(env, s.who.aude))["determinations"] == []  # applies to no device now
    then = ok(report(env, s.who.aude, as_of=iso(while_in_force), determination=s.number))
    assert then["in_scope"] == 3 and then["removed"] == 1


def test_typed_text_stays_text_in_every_format(env: Env) -> None:
    title = '=HYPERLINK("http://evil.example")<script>alert(1)</script>'
    s = scene(env, title=title)
    page = report(env, s.who.aude, format="html").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    rows = list(csv.DictReader(io.StringIO(report(env, s.who.aude, format="csv").text)))
    assert {r["determination_title"] for r in rows} == {"'" + title}
    assert ok(report(env, s.who.aude))["determinations"][0]["title"] == title


def test_removed_by_the_devices_own_event_or_never_held(env: Env) -> None:
    s = scene(env)
    remover, clean = Phone(env, s.who), Phone(env, s.who)
    event = {"kind": "removed", "app_id": TIKTOK, "rule": s.number, "at": iso(env.clock.now())}
    ok(remover.report({}, events=[event]))  # removed it before its first report: no history
    ok(clean.report({}))
    lines = {
        line["device_id"]: line
        for line in ok(report(env, s.who.aude))["determinations"][0]["devices"]
    }
    assert (lines[remover.id]["status"], lines[remover.id]["removed"]) == ("compliant", True)
    assert (lines[clean.id]["status"], lines[clean.id]["removed"]) == ("compliant", False)
    assert lines[remover.id]["deadline"] == "after_deadline"  # in scope only since now
