"""The devices and groups pages in-process, on SQLite and PostgreSQL: every filter shows
the devices its JSON twin lists; a device's page shows its policy versions, installed apps,
reports and compliance per determination; groups show their rule, members and the
determinations that name them. Unknown ids and bad filters get an error page."""

from __future__ import annotations

import re

import pytest

from appwarden.console.pages import devices as devices_page
from tests.compliance.support import APP_TARGET, TIKTOK, Phone, group_id
from tests.console.support import HTML, sign_in
from tests.decisions.support import HOSTILE, Actors, actors, get, iso, ok, reach, seed_catalog
from tests.server import Env

_DEVICE_LINK = re.compile(r'<a href="/devices/([A-Za-z0-9_-]+)"><code>')


def _listed(env: Env, query: str = "") -> list[str]:
    page = env.client.get(f"/devices{query}", headers=HTML)
    assert page.status_code == 200, page.text
    return _DEVICE_LINK.findall(page.text)


def _twin(env: Env, who: Actors, query: str = "") -> list[str]:
    body = ok(get(env, who.aude, f"/devices{query}"))
    return [d["id"] for d in body["items"]]


def _fleet(env: Env) -> tuple[Actors, int, dict[str, Phone]]:
    """Four phones in two groups, a ban of TikTok in force in one of them; the phone that
    holds TikTok reports it, two report without it, one never reports."""
    who, catalog = actors(env), seed_catalog(env)
    phones = {
        "holder": Phone(env, who, department=HOSTILE),
        "clean": Phone(env, who, platform="ios", ownership="byod"),
        "silent": Phone(env, who, ownership="contractor"),
        "other": Phone(env, who, "contractors", ownership="contractor"),
    }
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    ok(phones["holder"].report({TIKTOK: None, "org.example.notes": "cd" * 32}))
    ok(phones["clean"].report({}))
    event = {"kind": "removed", "app_id": "org.example.gone", "at": iso(env.clock.now())}
    ok(phones["other"].report({}, events=[event]))
    sign_in(env, "aude")
    return who, number, phones


def test_every_filter_lists_what_its_json_twin_lists(env: Env) -> None:
    who, _number, phones = _fleet(env)
    government = group_id(env, who, "government-issued")
    queries = [
        "",
        f"?group_id={government}",
        "?platform=ios",
        "?ownership=contractor",
        "?state=active",
        "?compliance=compliant",
        "?group_id=&platform=&ownership=&state=&compliance=",  # the form, nothing chosen
        "?compliance=non_compliant",
        "?compliance=unjudged",
        f"?group_id={government}&ownership=contractor",
    ]
    for query in queries:
        twin = "" if query.startswith("?group_id=&") else query  # the API takes no empty ones
        assert _listed(env, query) == _twin(env, who, twin), query
    assert set(_listed(env, "")) == {p.id for p in phones.values()}
    assert phones["holder"].id in _listed(env, "?compliance=non_compliant")
    assert phones["clean"].id in _listed(env, "?compliance=compliant")
    assert phones["other"].id not in _listed(env, f"?group_id={government}")
    assert _listed(env, "?platform=ios") == [phones["clean"].id]


def test_the_list_is_paginated_and_readable_as_html(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    _who, _number, phones = _fleet(env)
    monkeypatch.setattr(devices_page, "PAGE_SIZE", 3)
    first = env.client.get("/devices?ownership=contractor&platform=android", headers=HTML).text
    assert 'rel="next"' not in first  # two contractors' phones: one page
    page = env.client.get("/devices", headers=HTML).text
    assert len(_DEVICE_LINK.findall(page)) == 3 and 'rel="next"' in page
    following = re.search(r'<a href="([^"]+)" rel="next">', page)
    assert following is not None
    rest = env.client.get(following.group(1).replace("&amp;", "&"), headers=HTML).text
    seen = _DEVICE_LINK.findall(page) + _DEVICE_LINK.findall(rest)
    assert sorted(seen) == sorted(p.id for p in phones.values())
    both = page + rest  # the department of one of them, escaped
    assert HOSTILE not in both and "&lt;script&gt;alert(1)&lt;/script&gt;" in both


def test_a_device_page_shows_versions_apps_reports_and_compliance(env: Env) -> None:
    who, number, phones = _fleet(env)
    holder = phones["holder"]
    page = env.client.get(f"/devices/{holder.id}", headers=HTML)
    assert page.status_code == 200
    state = ok(get(env, who.aude, f"/devices/{holder.id}/state"))
    judged = ok(get(env, who.aude, f"/devices/{holder.id}/compliance"))
    assert state["applied_version"] is not None and state["issued_version"] is not None
    assert f"version {state['applied_version']}, reported" in page.text
    assert [a["app_id"] for a in state["installed_apps"]] == ["com.zhiliaoapp.musically",
                                                              "org.example.notes"]  # fmt: skip
    assert f"<code>{TIKTOK}</code>" in page.text and "cd" * 32 in page.text
    assert state["reports"][0]["report_id"] in page.text
    assert judged["determinations"][0]["status"] == "non_compliant"
    assert f'href="/determinations/{number}"' in page.text
    assert "not compliant (app present)" in page.text
    assert HOSTILE not in page.text  # the department, escaped
    other = env.client.get(f"/devices/{phones['other'].id}", headers=HTML).text
    assert "No app installed, by its last inventory." in other  # an empty full inventory
    assert "removed <code>org.example.gone</code>" in other
    assert "No determination in force applies to this device." in other
    silent = env.client.get(f"/devices/{phones['silent'].id}", headers=HTML).text
    assert "No inventory reported yet." in silent and "No report received yet." in silent


def test_groups_show_their_rule_members_and_determinations(env: Env) -> None:
    who, number, phones = _fleet(env)
    ruled = group_id(env, who, "iPhones", rule={"platform": ["ios"], "department": ["Legal"]})
    government = group_id(env, who, "government-issued")
    listing = env.client.get("/groups", headers=HTML).text
    twin = ok(get(env, who.aude, "/groups"))["items"]
    for group in twin:
        assert f'<a href="/groups/{group["id"]}">{group["name"]}</a>' in listing
    assert "Platform: iOS" in listing and "Department: Legal" in listing
    page = env.client.get(f"/groups/{government}", headers=HTML).text
    for key in ("holder", "clean", "silent"):
        assert f'<a href="/devices/{phones[key].id}">' in page
    assert phones["other"].id not in page
    assert f'<a href="/determinations/{number}">' in page and "in force" in page
    assert f'href="/devices?group_id={government}"' in page
    ruled_page = env.client.get(f"/groups/{ruled}", headers=HTML).text
    assert "No determination names this group." in ruled_page
    assert "No device was put in this group by hand" in ruled_page


def test_unknown_ids_and_bad_filters_get_error_pages(env: Env) -> None:
    who, _number, _phones = _fleet(env)
    for path, status, words in [
        ("/devices/nope", 404, "There is no device with this identifier."),
        ("/groups/999", 404, "There is no device group with this number."),
        ("/groups/abc", 422, "Bad address"),
        ("/devices?group_id=999", 404, "There is no device group with this number."),
        ("/devices?platform=windows", 422, "A filter has a value this page cannot use."),
        ("/devices?compliance=maybe", 422, "A filter has a value this page cannot use."),
        ("/devices?group_id=two", 422, "A filter has a value this page cannot use."),
        ("/devices?offset=-1", 422, "offset"),
    ]:
        page = env.client.get(path, headers=HTML)
        assert page.status_code == status, path
        assert words in page.text, path
    problem = get(env, who.aude, "/devices?compliance=maybe")  # the twin refuses it too
    assert problem.status_code == 422


def test_signed_out_visitors_go_to_the_sign_in_page(env: Env) -> None:
    for path in ("/devices", "/devices/x", "/groups", "/groups/1"):
        answer = env.client.get(path, headers=HTML, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in")
