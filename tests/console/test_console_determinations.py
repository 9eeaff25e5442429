"""The determinations pages in-process, on SQLite and PostgreSQL: the list and one
determination's page agree with their JSON twins; the lifecycle's forms go through the
decisions service (roles, conditions, separation of duties); refusals change nothing."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import update

from appwarden.auth import service as auth
from appwarden.auth.models import User
from appwarden.auth.roles import Role
from appwarden.decisions.models import Determination
from tests.console.support import HTML, csrf_from, make_user, sign_in
from tests.decisions.support import (
    HOSTILE,
    actors,
    counts,
    get,
    ok,
    reach,
    seed_catalog,
    stored_status,
)
from tests.server import Env


def _as(env: Env, username: str, role: Role) -> None:
    """Sign the test client in as a new console user of ``role`` (with TOTP if it needs one)."""
    env.client.cookies.clear()
    secret = make_user(env, username, role)
    sign_in(env, username, totp=auth.totp_now(secret, env.clock) if secret else "")


def _submit(env: Env, number: int, action: str, **form: Any) -> Any:
    page = env.client.get(f"/determinations/{number}", headers=HTML)
    data = {"csrf_token": csrf_from(page), **form}
    return env.client.post(
        f"/determinations/{number}/{action}", data=data, headers=HTML, follow_redirects=False
    )


def _buttons(html: str) -> list[str]:
    """The lifecycle's buttons (the waiver and reply forms aside)."""
    found = re.findall(r'<form method="post" action="/determinations/\d+/([a-z-]+)"', html)
    return [action for action in found if action not in ("waivers", "reply")]


def test_analyst_proposes_approver_approves_and_the_page_shows_it_in_force(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "draft")
    _as(env, "nora", Role.analyst)
    page = env.client.get(f"/determinations/{number}", headers=HTML)
    assert page.status_code == 200 and _buttons(page.text) == ["propose"]
    assert "TikTok on government devices" in page.text and "Chief Information Officer" in page.text
    assert "<code>government-issued</code>" in page.text and "ByteDance Ltd." in page.text
    assert f"Assessment {catalog.assessment}" in page.text
    proposed = _submit(env, number, "propose")
    assert proposed.status_code == 303
    assert proposed.headers["location"] == f"/determinations/{number}?done=propose"
    after = env.client.get(proposed.headers["location"], headers=HTML).text
    assert "Done: Propose." in after and "status-proposed" in after
    assert _buttons(after) == ["send-notice"]  # an analyst does not decide

    _as(env, "paul", Role.approver)
    page = env.client.get(f"/determinations/{number}", headers=HTML).text
    assert _buttons(page) == ["approve-interim", "reject"]
    before = counts(env)
    refused = _submit(env, number, "approve-interim")  # no note: the condition `note`
    assert refused.status_code == 422 and "The action was refused." in refused.text
    assert "Give a note: the reason for this action" in refused.text and counts(env) == before
    assert stored_status(env, number) == "proposed"
    done = _submit(env, number, "approve-interim", note="Urgent: " + HOSTILE)
    assert done.status_code == 303
    page = env.client.get(done.headers["location"], headers=HTML).text
    assert "status-in_force" in page and "Interim measure" in page
    assert _buttons(page) == ["confirm", "rescind"]  # confirm waits for the notice: refused
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the note
    twin = ok(get(env, who.aude, f"/determinations/{number}"))
    assert twin["status"] == "in_force" and twin["decided_by"] == "paul"
    actions = [event["action"] for event in twin["timeline"]]
    assert actions == ["create", "propose", "approve_interim"]
    for label in ("Drafted", "Propose", "Approve now, as an interim measure"):
        assert f"<strong>{label}</strong>" in page
    assert env.audit_ok().ok


def test_auditor_sees_no_button_and_a_forged_post_is_refused(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "proposed")
    _as(env, "ines", Role.auditor)
    page = env.client.get(f"/determinations/{number}", headers=HTML)
    assert page.status_code == 200 and _buttons(page.text) == []
    assert "Audit events" in page.text and "determination.propose" in page.text
    before = counts(env)
    for action in ("approve-interim", "reject", "propose"):
        forged = _submit(env, number, action, note="forged")
        assert forged.status_code == 403, action
        assert "Your role may not take this action. Nothing was changed." in forged.text
    assert counts(env) == before and stored_status(env, number) == "proposed"


def test_separation_of_duties_hides_the_buttons_and_the_service_refuses(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "proposed")
    _as(env, "paul", Role.approver)
    with env.session() as session, session.begin():  # paul drafted it, in an earlier role
        paul = session.query(User).filter_by(username="paul").one()
        session.execute(
            update(Determination).where(Determination.id == number).values(created_by_id=paul.id)
        )
    page = env.client.get(f"/determinations/{number}", headers=HTML).text
    assert _buttons(page) == [] and "separation of duties" in page
    before = counts(env)
    forged = _submit(env, number, "approve-interim", note="mine")
    assert forged.status_code == 403 and "another approver must decide" in forged.text
    assert counts(env) == before and stored_status(env, number) == "proposed"


def test_bad_input_is_refused_with_a_page(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "proposed")
    _as(env, "paul", Role.approver)
    before = counts(env)
    too_long = _submit(env, number, "reject", note="x" * 5001)
    assert too_long.status_code == 422 and "at most 5000 characters" in too_long.text
    wrong_status = _submit(env, number, "approve", note="too early")  # from proposed
    assert wrong_status.status_code == 409
    assert "This action (Approve) is not possible while the determination is proposed." in (
        wrong_status.text
    )
    unknown = _submit(env, number, "obliterate")
    assert unknown.status_code == 404 and "There is no such action" in unknown.text
    renew = _submit(env, number, "renew")  # an action the page does not offer as a form
    assert renew.status_code == 404
    assert counts(env) == before and stored_status(env, number) == "proposed"
    missing = env.client.get("/determinations/999", headers=HTML)
    assert missing.status_code == 404 and "no determination with this number" in missing.text
    page = env.client.get(f"/determinations/{number}", headers=HTML)
    data = {"csrf_token": csrf_from(page), "note": "x"}
    gone = env.client.post("/determinations/999/reject", data=data, headers=HTML)
    assert gone.status_code == 404
    for query in ("?status=bogus", "?action=nuke", "?offset=-1", "?target_kind=x"):
        bad = env.client.get(f"/determinations{query}", headers=HTML)
        assert bad.status_code == 422 and "Traceback" not in bad.text, query
        assert "A filter has a value this page cannot use." in bad.text or "offset" in query
    assert env.client.get("/determinations/abc", headers=HTML).status_code == 422


def test_the_list_matches_its_json_twin(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    reach(env, who, catalog, "draft")
    reach(env, who, catalog, "proposed", title="CapCut " + HOSTILE)
    reach(env, who, catalog, "in_force_interim", action="block")
    _as(env, "ines", Role.auditor)
    for query in ("", "?status=proposed", "?status=in_force", "?action=block",
                  "?target_kind=publisher", "?status=rescinded"):  # fmt: skip
        page = env.client.get(f"/determinations{query}", headers=HTML)
        assert page.status_code == 200, query
        twin = ok(get(env, who.aude, f"/determinations{query}"))
        shown = re.findall(r'<a href="/determinations/(\d+)">', page.text)
        assert shown == [str(item["id"]) for item in twin["items"]], query
        assert f"GET /api/v1/determinations{query}" in page.text.replace("&amp;", "&")
    # The filter form as submitted with every field on "Any": the whole list.
    chosen_nothing = env.client.get("/determinations?status=&action=&target_kind=", headers=HTML)
    assert chosen_nothing.status_code == 200
    assert re.findall(r'<a href="/determinations/(\d+)">', chosen_nothing.text) == ["1", "2", "3"]
    page = env.client.get("/determinations", headers=HTML).text
    assert HOSTILE not in page and "CapCut &lt;script&gt;" in page
    nav = page.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/determinations" aria-current="page"' in nav


def test_french_determination_page(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "proposed")
    _as(env, "paul", Role.approver)
    env.client.cookies.set("appwarden_lang", "fr")
    page = env.client.get(f"/determinations/{number}", headers=HTML).text
    assert (
        '<html lang="fr">' in page and "Approuver maintenant, à titre de mesure provisoire" in page
    )
    assert "proposée" in page and "Chronologie" in page
