"""The audit page: events and filters as the JSON twin has them, verification, access."""

from __future__ import annotations

import re

from sqlalchemy import update

from appwarden.audit import service as audit
from appwarden.audit.models import AuditEvent
from appwarden.auth import service as auth
from appwarden.auth.roles import Role
from tests.console.support import HTML, make_user, sign_in
from tests.server import Env

XSS = "<script>alert(1)</script>"


def _seed(env: Env, count: int, actor: str = "ana", action: str = "app.create") -> None:
    with env.session() as session, session.begin():
        for number in range(count):
            audit.append(
                session,
                key=env.settings.audit_secret(),
                clock=env.clock,
                actor=actor,
                action=action,
                object_type="app",
                object_id=str(number),
                after={"label": XSS},
            )


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>\s*<td>(\d+)</td>", body)


def test_events_and_filters_match_the_json_twin(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    token = env.user("auditor-api", Role.auditor)
    _seed(env, 3, actor="ana", action="app.create")
    _seed(env, 2, actor="alex", action="determination.approve")
    sign_in(env, "aude")
    for query in ("", "?actor=alex", "?action=app.create", "?object_type=app&object_id=1"):
        page = env.client.get(f"/audit{query}", headers=HTML)
        assert page.status_code == 200
        twin = env.client.get(f"/api/v1/audit/events{query}", headers=env.headers(token)).json()
        expected = sorted((str(e["seq"]) for e in twin["items"]), key=int, reverse=True)
        assert _rows(page.text) == expected, query
        assert f"of {twin['total']}, newest first" in page.text
        assert f"GET /api/v1/audit/events{query}" in page.text.replace("&amp;", "&")


def test_pages_of_events(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    _seed(env, 60)
    sign_in(env, "aude")
    first = env.client.get("/audit", headers=HTML).text
    # 60 seeded, then the sign-in's own event (session.start), newest first
    assert len(_rows(first)) == 50 and _rows(first)[0] == "61"
    assert 'href="/audit?offset=50" rel="next"' in first
    second = env.client.get("/audit?offset=50", headers=HTML).text
    assert len(_rows(second)) == 11 and 'rel="prev"' in second and 'rel="next"' not in second


def test_stored_markup_renders_as_text(env: Env) -> None:
    make_user(env, "aude", Role.auditor, display_name=XSS)
    _seed(env, 1, actor=XSS[:64])
    sign_in(env, "aude")
    page = env.client.get("/audit", headers=HTML).text
    assert XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_verify_reports_a_sound_chain_and_a_broken_one(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    _seed(env, 4)
    sign_in(env, "aude")
    whole = env.client.get("/audit/verify", headers=HTML)  # without JavaScript: the page
    assert whole.status_code == 200 and "<h1>Audit log</h1>" in whole.text
    # four seeded, and the sign-in's session.start
    assert "The chain holds." in whole.text and "Events checked: 5" in whole.text
    with env.session() as session, session.begin():
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="mallory"))
    partial = env.client.get("/audit/verify", headers={**HTML, "HX-Request": "true"})
    assert partial.status_code == 200 and "<h1>" not in partial.text  # htmx: the box alone
    assert "The chain is broken." in partial.text
    assert "First event that does not hold: 3." in partial.text
    assert "it was edited" in partial.text


def test_roles_without_audit_get_a_403_page(env: Env) -> None:
    make_user(env, "ana", Role.analyst)
    sign_in(env, "ana")
    for path in ("/audit", "/audit/verify"):
        response = env.client.get(path, headers=HTML)
        assert response.status_code == 403, path
        assert "Your role does not allow you to open this page." in response.text
        assert "Traceback" not in response.text
    home = env.client.get("/", headers=HTML).text
    assert 'href="/audit"' not in home  # the navigation offers only what the role may open


def test_admins_see_the_audit_link(env: Env) -> None:
    secret = make_user(env, "root", Role.admin)
    assert secret is not None
    sign_in(env, "root", totp=auth.totp_now(secret, env.clock))
    home = env.client.get("/", headers=HTML).text
    assert 'href="/audit"' in home and "(administrator)" in home


def test_bad_query_gets_a_page_not_a_trace(env: Env) -> None:
    make_user(env, "aude", Role.auditor)
    sign_in(env, "aude")
    for query in ("?offset=-1", "?offset=abc", "?actor=" + "x" * 65):
        response = env.client.get(f"/audit{query}", headers=HTML)
        assert response.status_code == 422, query
        assert "The address has a value this page cannot use." in response.text
    missing = env.client.get("/no-such-page", headers=HTML)
    assert missing.status_code == 404 and "There is no page at this address." in missing.text
    api = env.client.get("/api/v1/no-such-route", headers=HTML)
    assert api.headers["content-type"] == "application/problem+json"
