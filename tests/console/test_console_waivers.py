"""Waivers and the vendor's reply from the determination page, in-process on SQLite and
PostgreSQL: the forms go through the services (roles, in force only, separation of
duties); bad input and refusals change nothing and say why, in French on French pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from appwarden.auth import service as auth
from appwarden.auth.roles import Role
from appwarden.console.i18n import LANGUAGE_COOKIE
from tests.compliance.support import APP_TARGET, Phone
from tests.console.support import HTML, csrf_from, make_user, sign_in
from tests.decisions.support import HOSTILE, actors, counts, get, ok, reach, seed_catalog
from tests.server import Env


def _as(env: Env, username: str, role: Role) -> None:
    env.client.cookies.clear()
    secret = make_user(env, username, role)
    sign_in(env, username, totp=auth.totp_now(secret, env.clock) if secret else "")


def _post(env: Env, number: int, path: str, **form: Any) -> Any:
    page = env.client.get(f"/determinations/{number}", headers=HTML)
    data = {"csrf_token": csrf_from(page), **form}
    return env.client.post(path, data=data, headers=HTML, follow_redirects=False)


def _request_form(env: Env, device: str, **changes: str) -> dict[str, str]:
    last_day = (env.clock.now() + timedelta(days=30)).date().isoformat()
    form = {
        "devices": f"{device}\n",
        "users": "",
        "reason": "law_enforcement",
        "justification": "Undercover investigation. " + HOSTILE,
        "mitigations": "no government data on the phone\nkept in a locked bag",
        "expires_on": last_day,
    }
    return form | changes


def _waivers(env: Env, token: str, number: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(get(env, token, f"/waivers?determination_id={number}"))[
        "items"
    ]
    return items


def test_request_then_another_approver_approves(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    _as(env, "nora", Role.analyst)
    page = env.client.get(f"/determinations/{number}", headers=HTML).text
    assert f'action="/determinations/{number}/waivers"' in page
    done = _post(env, number, f"/determinations/{number}/waivers", **_request_form(env, phone.id))
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith(f"/determinations/{number}?done=waiver-requested")
    [waiver] = _waivers(env, who.aude, number)
    assert waiver["state"] == "requested" and waiver["devices"] == [phone.id]
    assert waiver["requested_by"] == "nora" and len(waiver["mitigations"]) == 2
    page = env.client.get(done.headers["location"], headers=HTML).text
    assert "Done: Waiver requested." in page and HOSTILE not in page
    assert f"/waivers/{waiver['id']}/approve" not in page  # an analyst does not approve
    forbidden = _post(env, number, f"/waivers/{waiver['id']}/approve")
    assert forbidden.status_code == 403 and _waivers(env, who.aude, number)[0]["state"] == (
        "requested"
    )

    _as(env, "paul", Role.approver)
    approved = _post(env, number, f"/waivers/{waiver['id']}/approve", note="Checked with legal.")
    assert approved.status_code == 303
    assert _waivers(env, who.aude, number)[0]["state"] == "active"
    page = env.client.get(approved.headers["location"], headers=HTML).text
    assert "Done: Waiver approved." in page and "Approved by" in page
    revoke_without_note = _post(env, number, f"/waivers/{waiver['id']}/revoke")
    assert revoke_without_note.status_code == 422
    assert _waivers(env, who.aude, number)[0]["state"] == "active"


def test_the_requester_may_not_approve_their_own_waiver_in_either_language(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    _as(env, "paul", Role.approver)
    ok_ = _post(env, number, f"/determinations/{number}/waivers", **_request_form(env, phone.id))
    assert ok_.status_code == 303
    [waiver] = _waivers(env, who.aude, number)
    page = env.client.get(f"/determinations/{number}", headers=HTML).text
    assert "You requested this waiver" in page and f"/waivers/{waiver['id']}/approve" not in page
    before = counts(env)
    refused = _post(env, number, f"/waivers/{waiver['id']}/approve")
    assert refused.status_code == 403
    assert f"paul requested waiver {waiver['id']} and may not approve it" in refused.text
    env.client.cookies.set(LANGUAGE_COOKIE, "fr")
    refused = _post(env, number, f"/waivers/{waiver['id']}/approve")
    assert refused.status_code == 403 and 'lang="fr"' in refused.text
    assert f"paul a demandé la dérogation {waiver['id']}" in refused.text
    assert "may not approve" not in refused.text
    assert counts(env) == before and _waivers(env, who.aude, number)[0]["state"] == "requested"


def test_bad_requests_change_nothing_and_say_why(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    draft = reach(env, who, catalog, "draft", target=APP_TARGET, title="Another")
    _as(env, "nora", Role.analyst)
    far = (env.clock.now() + timedelta(days=400)).date().isoformat()
    cases = [
        ({"mitigations": ""}, 422, "Give at least one mitigation"),
        ({"devices": "*", "users": ""}, 422, "Name each device by its identifier"),
        ({"devices": "", "users": ""}, 422, "never covers a whole scope"),
        ({"reason": "because"}, 422, "Choose a reason from the list."),
        ({"expires_on": "next week"}, 422, "Give the end date."),
        ({"expires_on": far}, 422, "A waiver lasts at most 365 days."),
    ]
    before = counts(env)
    for changes, status, words in cases:
        form = _request_form(env, phone.id, **changes)
        answer = _post(env, number, f"/determinations/{number}/waivers", **form)
        assert answer.status_code == status, changes
        assert words in answer.text, changes
        assert "Undercover investigation." in answer.text  # the form comes back as typed
    not_in_force = _post(env, draft, f"/determinations/{draft}/waivers",
                          **_request_form(env, phone.id))  # fmt: skip
    assert not_in_force.status_code == 409
    assert f"Waivers are for determinations in force; determination {draft} is draft" in (
        not_in_force.text
    )
    missing = _post(env, number, "/determinations/9999/waivers", **_request_form(env, phone.id))
    assert missing.status_code == 404
    assert _post(env, number, "/waivers/9999/approve").status_code == 403  # analyst: no role
    no_token = env.client.post(f"/determinations/{number}/waivers",
                               data=_request_form(env, phone.id), headers=HTML)  # fmt: skip
    assert no_token.status_code == 403
    assert counts(env) == before and _waivers(env, who.aude, number) == []
    _as(env, "paul", Role.approver)
    assert _post(env, number, "/waivers/9999/approve").status_code == 404


def test_record_the_vendor_reply_once(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "notice")
    sign_in(env, "aude")
    page = env.client.get(f"/determinations/{number}", headers=HTML).text
    assert f"/determinations/{number}/reply" not in page  # an auditor records nothing
    assert _post(env, number, f"/determinations/{number}/reply", text="x").status_code == 403

    _as(env, "nora", Role.analyst)
    page = env.client.get(f"/determinations/{number}", headers=HTML).text
    assert f'action="/determinations/{number}/reply"' in page
    empty = _post(env, number, f"/determinations/{number}/reply", text="  ")
    assert empty.status_code == 422 and "Give the text of the reply." in empty.text
    early = (env.clock.now() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    before_notice = _post(env, number, f"/determinations/{number}/reply", text="We object.",
                          received_at=early)  # fmt: skip
    assert before_notice.status_code == 422
    assert "The date of receipt is before the notice was sent." in before_notice.text
    assert "We object." in before_notice.text
    assert ok(get(env, who.aude, f"/determinations/{number}"))["reply"] is None
    done = _post(env, number, f"/determinations/{number}/reply", text="We object. " + HOSTILE,
                 sender="legal@vendor.example")  # fmt: skip
    assert done.status_code == 303
    page = env.client.get(done.headers["location"], headers=HTML).text
    assert "Done: Vendor reply recorded." in page and HOSTILE not in page
    assert ok(get(env, who.aude, f"/determinations/{number}"))["reply"]["text"].startswith(
        "We object."
    )
    assert f'action="/determinations/{number}/reply"' not in page  # once
    env.client.cookies.set(LANGUAGE_COOKIE, "fr")
    again = _post(env, number, f"/determinations/{number}/reply", text="Again.")
    assert again.status_code == 409 and "Une réponse a déjà été consignée le" in again.text


def test_a_lifecycle_refusal_is_in_french_on_a_french_page(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "proposed")
    _as(env, "paul", Role.approver)
    env.client.cookies.set(LANGUAGE_COOKIE, "fr")
    refused = _post(env, number, f"/determinations/{number}/approve-interim")
    assert refused.status_code == 422
    assert "Donnez une note : la raison de cette action" in refused.text
    assert "give a note" not in refused.text


def test_the_language_switch_of_a_refusal_comes_back_to_the_determination(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    _as(env, "nora", Role.analyst)
    refused = _post(env, number, f"/determinations/{number}/waivers", reason="")
    assert refused.status_code == 422
    assert f'href="/language/fr?next=%2Fdeterminations%2F{number}"' in refused.text
