"""The console's comparison page, in-process on SQLite and PostgreSQL: a reader chooses a
partner's list and sees the three parts (htmx: the fragment alone); a bad or oversized
file says why and stores nothing; French pages are in French; markup shows as text."""

from __future__ import annotations

import re

import httpx

from appwarden.auth.roles import Role
from appwarden.console.i18n import LANGUAGE_COOKIE
from tests.console.support import HTML, csrf_from, make_user, sign_in
from tests.decisions.support import HOSTILE, actors, counts, reach
from tests.partners.support import csv_list, seed
from tests.partners.test_format import example
from tests.server import Env

WECHAT = "com.tencent.mm,,,monitor,WeChat"


def _compare(env: Env, data: bytes, name: str = "list.csv", **headers: str) -> httpx.Response:
    page = env.client.get("/partners", headers=HTML)
    assert page.status_code == 200, page.text
    form = {"csrf_token": csrf_from(page), "pending": "true"}
    files = {"file": (name, data, "text/csv")}
    return env.client.post("/partners/compare", data=form, files=files,
                           headers={**HTML, **headers})  # fmt: skip


def _signed_in_reader(env: Env) -> None:
    make_user(env, "rita", Role.auditor)
    sign_in(env, "rita")


def test_the_comparison_in_three_parts(env: Env) -> None:
    who, catalog = actors(env), seed(env)
    ours = reach(env, who, catalog, "in_force", target={"kind": "app", "app_id": "com.tencent.mm"})
    lemon8 = reach(env, who, catalog, "proposed",
                   target={"kind": "publisher", "publisher_id": catalog.lemon8_ltd})  # fmt: skip
    _signed_in_reader(env)
    listing = env.client.get("/determinations", headers=HTML).text
    assert 'href="/partners"' in listing
    before = counts(env)
    shown = _compare(env, example("json"), "canada.json")
    assert shown.status_code == 200, shown.text
    text = shown.text
    assert "CA: Statement on TikTok on government devices (2023-02-27)" in text
    assert "1 in both, 1 only ours, 3 only theirs." in text
    assert f'href="/determinations/{ours}"' in text and "(differs)" in text
    assert f'href="/determinations/{lemon8}"' in text  # pending: the proposal counts
    assert "com.zhiliaoapp.musically" in text and "ByteDance Ltd." in text
    assert counts(env) == before

    fragment = _compare(env, example("csv"), "canada.csv", **{"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="both-heading"' in fragment.text


def test_bad_files_say_why_and_the_page_is_french(env: Env) -> None:
    seed(env)
    _signed_in_reader(env)
    refused = _compare(env, csv_list(WECHAT, WECHAT))
    assert refused.status_code == 422
    assert (
        "line 3: app com.tencent.mm (both platforms) repeats the target of line 2" in refused.text
    )
    assert 'role="alert"' in refused.text
    empty = _compare(env, b"", "empty.csv")
    assert empty.status_code == 422 and "the file is empty" in empty.text
    env.client.cookies.set(LANGUAGE_COOKIE, "fr")
    page = env.client.get("/partners", headers=HTML).text
    assert "Listes des partenaires" in page and "Comparer avec la liste d’un partenaire" in page
    french = _compare(env, b"jurisdiction,date\n", "x.csv")
    assert french.status_code == 422 and "Cette liste ne peut pas être lue" in french.text


def test_a_file_over_the_limit_is_refused(env: Env) -> None:
    _signed_in_reader(env)
    big = _compare(env, csv_list(WECHAT) + b"#" * (6 * 1024 * 1024))
    assert big.status_code == 413


def test_markup_in_a_list_shows_as_text(env: Env) -> None:
    seed(env)
    _signed_in_reader(env)
    hostile = HOSTILE.replace(",", ";").replace("|", "/")
    shown = _compare(env, csv_list(f"com.evil.app,,,ban,{hostile}").replace(
        b"Statement on TikTok", hostile.encode()))  # fmt: skip
    assert shown.status_code == 200, shown.text
    assert "<script>alert(1)</script>" not in shown.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text
    assert re.search(r"<td>&lt;script&gt;", shown.text)
