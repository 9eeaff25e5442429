"""Drafts, reads, filters, bad input, idempotency, expiry by the clock, review and renewal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appwarden.auth.roles import Role
from appwarden.decisions import service
from tests.decisions.support import (
    API,
    act,
    actors,
    counts,
    draft_body,
    get,
    iso,
    ok,
    post,
    problem,
    reach,
    seed_catalog,
    stored_status,
    user,
)
from tests.server import START, Env


def test_targets_of_each_kind(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    targets = [
        {"kind": "app", "app_id": "com.zhiliaoapp.musically", "platform": "android"},
        {"kind": "pattern", "pattern": "com.kaspersky.*", "platform": None},
        {"kind": "publisher", "publisher_id": catalog.tiktok_ltd},
        {"kind": "signer", "sha256": "AB" * 32},
    ]
    for target in targets:
        created = ok(post(env, who.ana, "/determinations", draft_body(catalog, target=target)), 201)
        expected = {**target, "sha256": "ab" * 32} if target["kind"] == "signer" else target
        assert {k: created["target"][k] for k in expected} == expected
    listed = ok(get(env, who.aude, "/determinations?target_kind=pattern"))
    assert listed["total"] == 1 and listed["items"][0]["target"]["pattern"] == "com.kaspersky.*"
    tiktok = ok(get(env, who.aude, "/determinations?target_kind=publisher"))["items"][0]
    assert [p["name"] for p in tiktok["target"]["covers_publishers"]] == ["TikTok Pte. Ltd."]


BAD_BODIES = {
    "no title": {"title": ""},
    "unknown action": {"action": "obliterate"},
    "empty scope": {"scope": []},
    "pattern matching everything": {"target": {"kind": "pattern", "pattern": "*"}},
    "pattern without literal start": {"target": {"kind": "pattern", "pattern": "*.kaspersky"}},
    "pattern without star": {"target": {"kind": "pattern", "pattern": "com.kaspersky"}},
    "bad signer": {"target": {"kind": "signer", "sha256": "xyz"}},
    "unknown target kind": {"target": {"kind": "planet", "name": "Mars"}},
    "naive date": {"review_at": "2027-01-01T00:00:00"},
    "review date in the past": {"review_at": iso(START - timedelta(days=1))},
    "end before review": {"expires_at": iso(START + timedelta(days=30))},
    "removal deadline on a block": {"action": "block", "removal_deadline": iso(START)},
    "unknown field": {"colour": "red"},
    "unknown assessment": {"evidence": [999999]},
    "unknown publisher": {"target": {"kind": "publisher", "publisher_id": 999999}},
    "evidence not ids": {"evidence": ["one"]},
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_malformed_bodies_are_refused_and_nothing_is_written(env: Env, case: str) -> None:
    ana, catalog = user(env, "ana", Role.analyst), seed_catalog(env)
    before = counts(env)
    refused = problem(
        post(env, ana, "/determinations", draft_body(catalog, **BAD_BODIES[case])), 422
    )
    assert refused["type"] == "urn:appwarden:problem:invalid"
    assert counts(env) == before


def test_not_json_and_missing_fields(env: Env) -> None:
    who, _catalog = actors(env), seed_catalog(env)
    headers = {**env.headers(who.ana), "content-type": "application/json"}
    garbage = env.client.post(f"{API}/determinations", content=b"{not json", headers=headers)
    problem(garbage, 422)
    missing = problem(post(env, who.ana, "/determinations", {"title": "x"}), 422)
    assert "target" in missing["detail"] and "review_at" in missing["detail"]
    assert counts(env)["determinations"] == 0


def test_unknown_ids_are_404(env: Env) -> None:
    who = actors(env)
    before = counts(env)
    problem(get(env, who.aude, "/determinations/424242"), 404, "not-found")
    problem(get(env, who.aude, "/determinations/424242/notice.md"), 404)
    problem(act(env, who.ana, 424242, "propose"), 404)
    problem(act(env, who.alex, 424242, "approve"), 404)
    reply = {"text": "hi", "received_at": iso(START)}
    problem(post(env, who.ana, "/determinations/424242/reply", reply), 404)
    patch = env.client.patch(
        f"{API}/determinations/424242", json={"title": "x"}, headers=env.headers(who.ana)
    )
    problem(patch, 404)
    assert counts(env) == before
    problem(get(env, who.aude, "/determinations/not-a-number"), 422)


def test_patch_changes_a_draft_only(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "draft")
    url, headers = f"{API}/determinations/{number}", env.headers(who.ana)
    changed = env.client.patch(
        url, json={"title": "New title", "evidence": [catalog.second_assessment]}, headers=headers
    )
    body = ok(changed)
    assert body["title"] == "New title" and body["evidence"] == [catalog.second_assessment]
    assert body["timeline"][-1]["action"] == "update"
    assert set(body["timeline"][-1]["details"]["changed"]) == {"title", "evidence"}
    before = counts(env)
    cleared = env.client.patch(url, json={"title": None}, headers=headers)
    problem(cleared, 422)
    crossed = env.client.patch(
        url, json={"review_at": iso(START + timedelta(days=120))}, headers=headers
    )
    assert "expires_at" in problem(crossed, 422)["detail"]
    problem(env.client.patch(url, json={"title": "x"}, headers=env.headers(who.aude)), 403)
    assert counts(env) == before
    ok(act(env, who.ana, number, "propose"))
    frozen = env.client.patch(url, json={"title": "Sneaky"}, headers=headers)
    assert "only a draft" in problem(frozen, 409)["detail"]
    assert ok(get(env, who.ana, f"/determinations/{number}"))["title"] == "New title"


def test_idempotent_create(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    body = draft_body(catalog)
    first = post(env, who.ana, "/determinations", body, key="create-1")
    again = post(env, who.ana, "/determinations", body, key="create-1")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replay") == "true"
    assert again.json()["id"] == first.json()["id"]
    assert counts(env)["determinations"] == 1
    before = counts(env)
    other = post(env, who.ana, "/determinations", {**body, "title": "Other"}, key="create-1")
    assert "different request" in problem(other, 422)["detail"]
    assert counts(env) == before
    ok(post(env, who.ana, "/determinations", body, key="create-2"), 201)
    assert counts(env)["determinations"] == 2


def test_idempotent_transition(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "draft")
    path = f"/determinations/{number}/propose"
    first = ok(post(env, who.ana, path, {}, key="p-1"))
    replayed = post(env, who.ana, path, {}, key="p-1")
    assert replayed.status_code == 200 and replayed.json() == first
    assert counts(env)["determination_events"] == 2  # create, propose


def test_list_filters_by_effective_status_and_paginates(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    draft = reach(env, who, catalog, "draft", action="monitor")
    in_force = reach(env, who, catalog, "in_force")
    short = reach(env, who, catalog, "in_force", expires_at=iso(START + timedelta(days=70)))

    def ids(query: str) -> list[int]:
        return [d["id"] for d in ok(get(env, who.aude, f"/determinations?{query}"))["items"]]

    assert ids("status=draft") == [draft] and ids("action=monitor") == [draft]
    assert ids("status=in_force") == [in_force, short]
    env.clock.set(START + timedelta(days=70))
    assert ids("status=in_force") == [in_force] and ids("status=expired") == [short]
    page = ok(get(env, who.aude, "/determinations?limit=2&offset=1"))
    assert page["total"] == 3 and [d["id"] for d in page["items"]] == [in_force, short]
    problem(get(env, who.aude, "/determinations?status=sleeping"), 422)
    problem(get(env, who.aude, "/determinations?target_kind=planet"), 422)
    problem(get(env, who.aude, "/determinations?limit=0"), 422)


def test_an_expired_determination_stops_applying_by_itself(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force")
    shown = ok(get(env, who.aude, f"/determinations/{number}"))
    assert shown["applies_now"] is True
    env.clock.set(START + timedelta(days=90))
    gone = ok(get(env, who.aude, f"/determinations/{number}"))
    assert gone["status"] == "expired" and gone["applies_now"] is False
    assert stored_status(env, number) == "in_force"  # nobody acted; the clock did
    before = counts(env)
    renew = {"review_at": iso(START + timedelta(days=200))}
    refused = problem(act(env, who.alex, number, "renew", renew), 409)
    assert "expired is final" in refused["detail"]
    assert counts(env) == before and stored_status(env, number) == "in_force"


def test_renew_on_review_extends(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    number = reach(env, who, catalog, "in_force")
    env.clock.set(START + timedelta(days=61))  # past the review date, before the end date
    due = ok(get(env, who.aude, "/determinations/due-for-review?within_days=0"))
    assert [d["id"] for d in due["items"]] == [number]
    before = counts(env)
    past = {"review_at": iso(START + timedelta(days=1))}
    problem(act(env, who.alex, number, "renew", past), 422)
    beyond_end = {"review_at": iso(START + timedelta(days=120))}
    assert "end date" in problem(act(env, who.alex, number, "renew", beyond_end), 422)["detail"]
    problem(act(env, who.alex, number, "renew", {}), 422)
    assert counts(env) == before
    renewed = ok(
        act(env, who.alex, number, "renew", {
            "review_at": iso(START + timedelta(days=180)),
            "expires_at": iso(START + timedelta(days=365)),
            "note": "still a risk",
        })
    )  # fmt: skip
    assert renewed["expires_at"].startswith("2027-11-23")
    assert renewed["timeline"][-1]["details"]["expires_at"]["from"].startswith("2027-02-21")
    env.clock.set(START + timedelta(days=100))  # past the old end date
    assert ok(get(env, who.aude, f"/determinations/{number}"))["applies_now"] is True
    assert ok(get(env, who.aude, "/determinations/due-for-review?within_days=0"))["total"] == 0


def test_due_for_review_lists_in_force_only_soonest_first(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    later = reach(env, who, catalog, "in_force", review_at=iso(START + timedelta(days=80)))
    sooner = reach(env, who, catalog, "in_force", review_at=iso(START + timedelta(days=40)))
    reach(env, who, catalog, "proposed", review_at=iso(START + timedelta(days=30)))
    env.clock.set(START + timedelta(days=10))
    due = ok(get(env, who.aude, "/determinations/due-for-review?within_days=30"))
    assert [d["id"] for d in due["items"]] == [sooner]
    due = ok(get(env, who.aude, "/determinations/due-for-review?within_days=365"))
    assert [d["id"] for d in due["items"]] == [sooner, later]
    env.clock.set(START + timedelta(days=91))  # both ended
    assert ok(get(env, who.aude, "/determinations/due-for-review?within_days=365"))["total"] == 0
    problem(get(env, who.aude, "/determinations/due-for-review?within_days=-1"), 422)


def test_it_applies_from_its_effective_time(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    later = START + timedelta(days=10)
    number = reach(env, who, catalog, "in_force", effective_at=iso(later), scope=["*"])
    shown = ok(get(env, who.aude, f"/determinations/{number}"))
    assert shown["status"] == "in_force" and shown["applies_now"] is False
    with env.session() as session:
        assert service.in_force_now(session, now=env.clock.now()) == []
    env.clock.set(later)
    assert ok(get(env, who.aude, f"/determinations/{number}"))["applies_now"] is True
    with env.session() as session:
        assert [d.id for d in service.in_force_now(session, now=env.clock.now())] == [number]
    text = get(env, who.aude, f"/determinations/{number}/notice.md").text
    assert "every managed device" in text
