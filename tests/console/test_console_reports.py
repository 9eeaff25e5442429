"""The reports and exports pages in-process, on SQLite and PostgreSQL: the console serves
the compliance report and the exports for its session (the REST API wants a token), the
same files as the API; bad input shows the form again with the reason; pages in French."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import quote

from tests.compliance.support import TIKTOK
from tests.compliance_report.support import Scene, report, scene
from tests.console.support import HTML, sign_in
from tests.decisions.support import get, iso
from tests.server import Env


def _signed_in(env: Env) -> Scene:
    s = scene(env)
    sign_in(env, "aude")
    return s


def test_reports_page_downloads_the_same_files_as_the_api(env: Env) -> None:
    s = _signed_in(env)
    determination = env.client.get(f"/determinations/{s.number}", headers=HTML)
    assert f'href="/reports?determination={s.number}"' in determination.text
    page = env.client.get(f"/reports?determination={s.number}", headers=HTML)
    assert page.status_code == 200
    assert f'<option value="{s.number}" selected>' in page.text
    assert 'name="as_of" type="date"' in page.text
    query = f"as_of={quote(iso(s.before))}&determination={s.number}&format=csv"
    console = env.client.get(f"/reports/compliance?{query}", headers=HTML)
    assert console.status_code == 200
    assert console.headers["content-disposition"].startswith("attachment;")
    api = report(env, s.who.aude, as_of=iso(s.before), determination=s.number, format="csv")
    assert console.content == api.content
    rows = list(csv.DictReader(io.StringIO(console.text)))
    assert sorted(r["status"] for r in rows) == ["exempt", "non_compliant", "non_compliant"]
    printable = env.client.get(f"/reports/compliance?determination={s.number}", headers=HTML)
    assert printable.headers["content-disposition"].startswith("inline;")
    assert "default-src 'none'" in printable.headers["content-security-policy"]
    assert "<svg" in printable.text
    everything = env.client.get("/reports/compliance?format=json&determination=", headers=HTML)
    assert json.loads(everything.text)["determination_id"] is None


def test_reports_bad_input_shows_the_form_with_the_reason(env: Env) -> None:
    s = _signed_in(env)
    cases = [
        ("as_of=someday", 422, "The date is not valid"),
        ("as_of=2999-01-01", 422, "The date is in the future"),
        ("as_of=2020-01-01", 422, "No compliance was recorded on or before this date"),
        ("determination=9999", 404, "There is no determination with this number."),
        ("determination=abc", 404, "There is no determination with this number."),
        ("format=pdf", 422, "Choose CSV, JSON or a printable page."),
    ]
    for query, status, words in cases:
        page = env.client.get(f"/reports/compliance?{query}", headers=HTML)
        assert page.status_code == status, query
        assert 'role="alert"' in page.text and words in page.text, query
        assert "<form" in page.text
    assert s.number  # the data existed: the refusals are about the input
    french = env.client.get(
        "/reports/compliance?as_of=2999-01-01", headers={**HTML, "accept-language": "fr"}
    )
    assert "La date est dans le futur" in french.text


def test_reports_need_a_session(env: Env) -> None:
    for path in ("/reports", "/reports/compliance?format=csv", "/exports", "/exports/rpz?scope=*"):
        response = env.client.get(path, headers=HTML, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/sign-in?next=")


def test_exports_page_one_button_per_kind_with_warnings(env: Env) -> None:
    s = _signed_in(env)
    page = env.client.get("/exports?scope=government-issued", headers=HTML)
    assert page.status_code == 200
    for kind in ("mobileconfig", "amapi", "intune", "rpz", "hosts", "domains"):
        assert f'href="/exports/{kind}?scope=government-issued"' in page.text
    assert '<option value="government-issued" selected>' in page.text
    download = env.client.get("/exports/amapi?scope=government-issued", headers=HTML)
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    api = get(env, s.who.aude, "/exports/amapi?scope=government-issued")
    assert download.content == api.content
    assert json.loads(download.content)["applications"][0]["packageName"] == TIKTOK
    everyone = env.client.get("/exports", headers=HTML)
    assert everyone.status_code == 200 and "Files for every managed device" in everyone.text
    for path in ("/exports?scope=nowhere", "/exports/rpz?scope=nowhere", "/exports/pdf?scope=*"):
        assert env.client.get(path, headers=HTML).status_code == 404, path
    groups = env.client.get("/groups", headers=HTML)
    assert 'href="/reports"' in groups.text and 'href="/exports"' in groups.text  # the nav
    group_id = groups.text.split('href="/groups/', 1)[1].split('"', 1)[0]
    group = env.client.get(f"/groups/{group_id}", headers=HTML)
    assert 'href="/exports?scope=government-issued"' in group.text


def test_exports_page_lists_what_a_format_cannot_express(env: Env) -> None:
    from tests.decisions.support import actors, reach, seed_catalog

    who, catalog = actors(env), seed_catalog(env)
    pattern = {"kind": "pattern", "pattern": "com.wechat.*", "platform": None}
    reach(env, who, catalog, "in_force_interim", target=pattern, scope=["*"])
    sign_in(env, "aude")
    page = env.client.get("/exports", headers=HTML)
    assert page.status_code == 200
    assert "Not expressed in this file:" in page.text and "com.wechat.*" in page.text
