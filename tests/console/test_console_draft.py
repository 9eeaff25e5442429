"""Drafting a determination from an assessment (its page links here; the browser test of
the whole flow follows that link), in-process on SQLite and PostgreSQL:
the draft targets the assessed app and cites the assessment; bad input, a role that may not
propose and a missing CSRF token change nothing."""

from __future__ import annotations

from datetime import timedelta

from appwarden.auth.roles import Role
from tests.console.support import HTML, csrf_from, make_user, sign_in
from tests.decisions.support import HOSTILE, actors, counts, get, ok, seed_catalog
from tests.server import Env


def _form(env: Env, **changes: str) -> dict[str, str]:
    review = (env.clock.now() + timedelta(days=60)).date().isoformat()
    form = {
        "title": "Ban of TikTok " + HOSTILE,
        "action": "ban",
        "scope": "*",
        "authority": "Chief Information Officer",
        "instrument": "Policy on Service and Digital, 4.4.2.4",
        "rationale": "Unacceptable level of risk to privacy and security.",
        "review_on": review,
    }
    return form | changes


def _submit(env: Env, assessment: int, **form: str) -> object:
    page = env.client.get(f"/assessments/{assessment}/draft", headers=HTML)
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_from(page), **form}
    return env.client.post(
        f"/assessments/{assessment}/draft", data=data, headers=HTML, follow_redirects=False
    )


def test_an_analyst_drafts_a_ban_from_an_assessment(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    make_user(env, "nora", Role.analyst)
    sign_in(env, "nora")
    form = env.client.get(f"/assessments/{catalog.assessment}/draft", headers=HTML).text
    assert "com.zhiliaoapp.musically" in form and 'value="Ban of TikTok"' in form
    done = _submit(env, catalog.assessment, **_form(env))
    assert done.status_code == 303  # type: ignore[attr-defined]
    location = done.headers["location"]  # type: ignore[attr-defined]
    number = int(location.split("/determinations/", 1)[1].split("?", 1)[0])
    twin = ok(get(env, who.aude, f"/determinations/{number}"))
    assert twin["status"] == "draft" and twin["created_by"] == "nora"
    assert twin["target"]["app_id"] == "com.zhiliaoapp.musically" and twin["scope"] == ["*"]
    assert [e["assessment_id"] for e in twin["evidence_assessments"]] == [catalog.assessment]
    page = env.client.get(location, headers=HTML).text
    assert "Done: Draft written." in page and HOSTILE not in page
    assert f'action="/determinations/{number}/propose"' in page


def test_bad_drafts_change_nothing(env: Env) -> None:
    _who, catalog = actors(env), seed_catalog(env)
    make_user(env, "nora", Role.analyst)
    sign_in(env, "nora")
    before = counts(env)
    past = (env.clock.now() - timedelta(days=1)).date().isoformat()
    for changes, status, words in [
        ({"rationale": " "}, 422, "Check these fields: Rationale."),
        ({"action": "obliterate", "title": ""}, 422, "Check these fields: Title, Action."),
        ({"review_on": "soon"}, 422, "Check these fields: Review."),
        ({"review_on": past}, 422, "The review date must be in the future."),
    ]:
        answer = _submit(env, catalog.assessment, **_form(env, **changes))
        assert answer.status_code == status, changes  # type: ignore[attr-defined]
        assert words in answer.text, changes  # type: ignore[attr-defined]
        assert "Chief Information Officer" in answer.text  # type: ignore[attr-defined]
    assert env.client.get("/assessments/999/draft", headers=HTML).status_code == 404
    no_token = env.client.post(f"/assessments/{catalog.assessment}/draft", data=_form(env),
                               headers=HTML)  # fmt: skip
    assert no_token.status_code == 403
    assert counts(env) == before
    make_user(env, "ines", Role.auditor)
    env.client.cookies.clear()
    sign_in(env, "ines")
    before = counts(env)  # signing in is an audit event
    form = env.client.get(f"/assessments/{catalog.assessment}/draft", headers=HTML)
    assert form.status_code == 403  # an auditor may not propose
    page = env.client.get("/determinations", headers=HTML)
    forged = env.client.post(f"/assessments/{catalog.assessment}/draft",
                             data={"csrf_token": csrf_from(page), **_form(env)},
                             headers=HTML)  # fmt: skip
    assert forged.status_code == 403
    assert counts(env) == before
