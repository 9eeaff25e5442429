"""The Apps page and the assessment report, in-process on SQLite and PostgreSQL: search as
the JSON twin searches, upload through the form (with and without htmx) to the report,
refusals that leave nothing behind, roles, and stored markup shown as text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from httpx import Response

from appwarden.audit.service import Acting
from appwarden.auth.roles import Role
from appwarden.catalog import service
from appwarden.console.pages.assessment import GROUPS, NO_GROUP
from builders import apk_bytes, manifest
from tests.catalog.helpers import IPA, SMALL_LIMIT, URZIP, counts, fixture_app, stored_files
from tests.console.support import HTML, csrf_from, make_user, sign_in
from tests.server import Env, running_env

XSS = "<script>alert(1)</script>"
#: A fixture with trackers (matched by code) and permissions in several privacy groups.
TRACKED = "instapaper.apk"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _add_app(env: Env, app_id: str, name: str, platform: str = "android") -> None:
    with env.session() as session, session.begin():
        service.create_app(
            session,
            clock=env.clock,
            acting=Acting("test", env.settings.audit_secret()),
            platform=platform,
            app_id=app_id,
            name=name,
        )


def _names(html: str) -> list[str]:
    return re.findall(r'<td class="app-name">([^<]*)</td>', html)


def _post_file(
    env: Env, content: bytes, name: str, *, htmx: bool = False, token: str | None = None
) -> Response:
    form = env.client.get("/apps", headers=HTML)
    headers = {**HTML, "HX-Request": "true"} if htmx else HTML
    data = {"csrf_token": token if token is not None else csrf_from(form)}
    files = {"file": (name, content, "application/octet-stream")}
    return env.client.post(
        "/apps/upload", data=data, files=files, headers=headers, follow_redirects=False
    )


def test_search_lists_what_the_json_twin_lists(env: Env) -> None:
    make_user(env, "ana", Role.analyst)
    token = env.user("api", Role.analyst)
    _add_app(env, "org.example.maps", "Maps")
    _add_app(env, "org.example.mail", "Mail")
    _add_app(env, "com.other.chat", "Chat", platform="ios")
    sign_in(env, "ana")
    for query in ("", "?q=example", "?q=MAIL", "?platform=ios", "?q=nothing-like-it"):
        page = env.client.get(f"/apps{query}", headers=HTML)
        assert page.status_code == 200
        twin = env.client.get(f"/api/v1/apps{query}", headers=env.headers(token)).json()
        assert _names(page.text) == [app["name"] for app in twin["items"]], query
        if twin["total"]:
            assert f"of {twin['total']}." in page.text
        else:
            assert "No app matches." in page.text
    assert "GET /api/v1/apps?q=example" in env.client.get("/apps?q=example", headers=HTML).text


def test_upload_without_javascript_leads_to_the_report(env: Env) -> None:
    make_user(env, "ana", Role.analyst)
    token = env.user("api", Role.analyst)
    sign_in(env, "ana")
    response = _post_file(env, fixture_app(URZIP).read_bytes(), URZIP)
    assert response.status_code == 303, response.text
    target = response.headers["location"]
    assert re.fullmatch(r"/assessments/\d+", target)
    report = env.client.get(target, headers=HTML)
    assert report.status_code == 200
    document = env.client.get(f"/api/v1{target}", headers=env.headers(token)).json()
    html = report.text
    assert document["app"]["id"] in html and document["file"]["sha256"] in html
    for signer in document["signers"]:
        assert signer["sha256"] in html
    for row in document["score"]["breakdown"]:
        assert f'data-points="{row["points"]}" data-cap="{row["cap"]}"' in html
    assert f"Risk score {document['score']['total']} of 100" in html
    for finding in document["findings"]:
        assert finding["title"] in html.replace("&#39;", "'").replace("&#34;", '"')
    for permission in document["permissions"]:
        assert f"<code>{permission['name']}</code>" in html
    assert f"Findings ({len(document['findings'])})" in html
    assert f"GET /api/v1{target}" in html
    # The catalog now lists the app, linked to this report.
    listing = env.client.get("/apps", headers=HTML).text
    assert f'href="{target}"' in listing


def test_upload_with_htmx_redirects_through_the_header(env: Env) -> None:
    make_user(env, "ana", Role.analyst)
    sign_in(env, "ana")
    response = _post_file(env, fixture_app(IPA).read_bytes(), IPA, htmx=True)
    assert response.status_code == 200
    target = response.headers["hx-redirect"]
    report = env.client.get(target, headers=HTML).text
    assert "Minimum iOS version" in report and "Score breakdown" in report


@pytest.mark.parametrize(
    ("content", "name", "reason"),
    [
        (b"", "", "Choose an .apk, .apks, .xapk or .ipa file."),
        (b"hello", "notes.txt", "This file cannot be vetted:"),
        (b"PK\x03\x04 not really a zip", "broken.apk", "This file cannot be vetted:"),
    ],
)
def test_a_refused_file_says_why_and_leaves_nothing(
    env: Env, content: bytes, name: str, reason: str
) -> None:
    make_user(env, "ana", Role.analyst)
    sign_in(env, "ana")
    before, files_before = counts(env), stored_files(env.settings)
    for htmx in (False, True):
        response = _post_file(env, content, name, htmx=htmx)
        assert response.status_code == 422, response.text
        text = response.text
        assert reason in text and "Traceback" not in text
        assert ("<h1>" in text) is not htmx  # htmx: the message alone
    assert counts(env) == before and stored_files(env.settings) == files_before


def test_upload_needs_the_csrf_token_and_the_vet_permission(env: Env) -> None:
    make_user(env, "ana", Role.analyst)
    make_user(env, "aude", Role.auditor)
    sign_in(env, "ana")
    before = counts(env)
    forged = _post_file(env, fixture_app(URZIP).read_bytes(), URZIP, token="0" * 64)
    assert forged.status_code == 403 and "Form refused" in forged.text
    assert counts(env) == before
    env.client.cookies.clear()
    sign_in(env, "aude")
    before = counts(env)  # the sign-in's own audit event (session.start) included
    page = env.client.get("/apps", headers=HTML).text
    assert "Upload an app file" not in page and "Search the catalog" in page
    denied = _post_file(env, fixture_app(URZIP).read_bytes(), URZIP)
    assert denied.status_code == 403
    assert "Your role does not allow you to open this page." in denied.text
    assert counts(env) == before


def test_too_large_a_file_gets_a_page(database_url: str, tmp_path: Path) -> None:
    with running_env(database_url, tmp_path / "capped", upload_max_bytes=SMALL_LIMIT) as env:
        make_user(env, "ana", Role.analyst)
        sign_in(env, "ana")
        before = counts(env)
        response = _post_file(env, b"\0" * (SMALL_LIMIT * 20), "big.apk")
        assert response.status_code == 413
        text = response.text
        assert "The file is larger than this server accepts." in text
        assert counts(env) == before and stored_files(env.settings) == []


def test_stored_markup_renders_as_text(env: Env) -> None:
    make_user(env, "ana", Role.analyst)
    sign_in(env, "ana")
    _add_app(env, "org.example.xss", XSS)
    listing = env.client.get("/apps?q=script", headers=HTML).text
    assert _names(listing) == [ESCAPED] and XSS not in listing
    crafted = apk_bytes(manifest("org.example.crafted", application_attrs={"android:label": XSS}))
    response = _post_file(env, crafted, "crafted.apk")
    assert response.status_code == 303, response.text
    report = env.client.get(response.headers["location"], headers=HTML).text
    assert XSS not in report
    assert f'<dd class="app-label">{ESCAPED}</dd>' in report
    assert f"Assessment of {ESCAPED}" in report  # the catalog named the app by its label


def test_report_in_french(env: Env) -> None:
    make_user(env, "ana", Role.analyst)
    sign_in(env, "ana")
    target = _post_file(env, fixture_app(URZIP).read_bytes(), URZIP).headers["location"]
    env.client.cookies.set("appwarden_lang", "fr")
    report = env.client.get(target, headers=HTML).text
    assert "Détail du score" in report and "Autorisations par groupe de confidentialité" in report
    assert "Score breakdown" not in report
    listing = env.client.get("/apps", headers=HTML).text
    assert "Chercher dans le catalogue" in listing and "Téléverser et examiner" in listing


def test_bad_addresses_get_pages(env: Env) -> None:
    make_user(env, "ana", Role.analyst)
    sign_in(env, "ana")
    missing = env.client.get("/assessments/999999", headers=HTML)
    assert missing.status_code == 404
    assert "There is no assessment with this number." in missing.text
    for path in ("/assessments/abc", "/apps?platform=windows", "/apps?offset=-1"):
        response = env.client.get(path, headers=HTML)
        assert response.status_code == 422, path
        assert "The address has a value this page cannot use." in response.text
    env.client.cookies.clear()
    away = env.client.get("/assessments/1", headers=HTML, follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/sign-in?next=")


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("<section", start)
    return html[start : end if end > 0 else len(html)]


def test_trackers_and_permissions_by_privacy_group(env: Env) -> None:
    make_user(env, "ana", Role.analyst)
    token = env.user("api", Role.analyst)
    sign_in(env, "ana")
    target = _post_file(env, fixture_app(TRACKED).read_bytes(), TRACKED).headers["location"]
    document = env.client.get(f"/api/v1{target}", headers=env.headers(token)).json()
    assert document["trackers"] and document["permissions"]  # the fixture has both
    evidence = [tracker["evidence"] for tracker in document["trackers"]]
    assert any(e["classes"] for e in evidence) and any(e["domains"] for e in evidence)
    html = env.client.get(target, headers=HTML).text
    trackers = _section(html, "trackers-heading")
    assert f"Trackers ({len(document['trackers'])})" in trackers
    for tracker in document["trackers"]:
        assert tracker["name"] in trackers
        if tracker["evidence"]["class_count"]:
            assert f"Matched classes ({tracker['evidence']['class_count']} in all)" in trackers
        for name in tracker["evidence"]["classes"] + tracker["evidence"]["domains"]:
            assert f"<li><code>{name}</code></li>" in trackers
    permissions = _section(html, "permissions-heading")
    headings = re.findall(r"<h3>([^<]+)</h3>", permissions)
    expected = {GROUPS.get(p["group"], NO_GROUP) for p in document["permissions"]}
    assert set(headings) == expected and headings[-1] == NO_GROUP  # ungrouped come last
    for permission in document["permissions"]:
        label = GROUPS.get(permission["group"], NO_GROUP)
        after = permissions.index(f"<h3>{label}</h3>")
        following = permissions.find("<h3>", after + 1)
        block = permissions[after : following if following > 0 else len(permissions)]
        assert f"<code>{permission['name']}</code>" in block
