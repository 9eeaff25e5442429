"""The dashboard in-process, on SQLite and PostgreSQL: determinations in force with their
compliance (as the JSON twin counts it), stragglers, waivers ending soon, reviews due, and
the compliance part htmx polls."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from appwarden.auth.roles import Role
from appwarden.compliance import trend
from tests.compliance.support import APP_TARGET, TIKTOK, Phone, compliance
from tests.console.support import HTML, make_user, sign_in
from tests.decisions.support import actors, iso, ok, post, reach, seed_catalog
from tests.server import START, Env, running_env


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> Iterator[Env]:
    """The background distributor quiet: devices are judged when they report or are read."""
    with running_env(database_url, tmp_path / "data", reconcile=False) as running:
        yield running


def _cells(html: str, number: int) -> list[str]:
    row = re.search(rf'<tr>\s*<td><a href="/determinations/{number}">.*?</tr>', html, re.S)
    assert row, f"no row for determination {number}"
    return re.findall(r"<td>([^<]*)</td>", row.group(0))


def _figures(html: str, canvas: str) -> dict[str, Any]:
    found = re.search(rf'<canvas id="{canvas}"[^>]*data-figures=\'([^\']*)\'', html)
    assert found, f"no canvas {canvas}"
    figures: dict[str, Any] = json.loads(found.group(1).replace("&#39;", "'"))
    return figures


def test_dashboard_shows_compliance_stragglers_waivers_and_reviews(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    clean, dirty, silent, waived = (Phone(env, who) for _ in range(4))
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET,
                   review_at=iso(START + timedelta(days=20)))  # fmt: skip
    other = reach(env, who, catalog, "in_force_interim", action="monitor",
                  target={"kind": "app", "app_id": "org.watched", "platform": None})  # fmt: skip
    body = {
        "devices": [waived.id], "reason": "security_research",
        "justification": "Analysing the app's traffic in the lab.",
        "mitigations": ["lab network only"], "expires_at": iso(START + timedelta(days=10)),
    }  # fmt: skip
    waiver = ok(post(env, who.olu, f"/determinations/{number}/waivers", body), 201)
    ok(post(env, who.bea, f"/waivers/{waiver['id']}/approve", {"note": "checked"}))
    ok(clean.report({}))
    ok(dirty.report({TIKTOK: None}))
    ok(waived.report({TIKTOK: None}))
    # silent: enrolled, never reports: pending

    make_user(env, "ines", Role.auditor)
    sign_in(env, "ines")
    page = env.client.get("/", headers=HTML)
    assert page.status_code == 200 and "<h1>Dashboard</h1>" in page.text
    twin = compliance(env, who.aude, f"/determinations/{number}/compliance")
    counts = twin["counts"]
    assert (counts["compliant"], counts["non_compliant"], counts["pending"]) == (1, 1, 1)
    assert counts["exempt"] == 1
    cells = _cells(page.text, number)
    # Compliant share (exempt aside: 1 of 3), then each status as the twin counts it.
    assert cells[0] == "33 %"
    assert cells[1:] == [str(counts[s]) for s in
                         ("compliant", "non_compliant", "pending", "exempt", "unreachable",
                          "cannot_enforce")]  # fmt: skip
    assert _cells(page.text, other)[0] == "75 %"  # monitor: present is fine, silent pending
    figures = _figures(page.text, "compliance-chart")
    assert figures["labels"][0].startswith(f"{number}. ")
    by_status = {d["status"]: d["data"] for d in figures["datasets"]}
    assert by_status["non_compliant"][0] == 1 and by_status["compliant"] == [1, 3]

    stragglers = page.text.split("<h3>Stragglers</h3>", 1)[1].split("</ul>", 1)[0]
    assert dirty.id in stragglers and silent.id in stragglers and clean.id not in stragglers
    assert stragglers.count("<li>") == 3  # silent is behind on both determinations
    waivers = page.text.split("Waivers expiring soon", 1)[1].split("</section>", 1)[0]
    assert f"Waiver {waiver['id']} ends" in waivers
    reviews = page.text.split("Reviews due", 1)[1].split("</section>", 1)[0]
    assert f'href="/determinations/{number}"' in reviews
    assert f'href="/determinations/{other}"' not in reviews  # its review is 60 days out

    # The part htmx polls: the figures alone, as of now, polling again.
    ok(dirty.report({}))
    part = env.client.get("/dashboard/compliance", headers={**HTML, "HX-Request": "true"})
    assert part.status_code == 200 and "<h1>" not in part.text
    assert 'hx-trigger="every 5s"' in part.text and _cells(part.text, number)[0] == "66 %"
    whole = env.client.get("/dashboard/compliance", headers=HTML, follow_redirects=False)
    assert whole.status_code == 303 and whole.headers["location"] == "/"


def test_the_share_compliant_over_time_follows_the_history(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phones = [Phone(env, who) for _ in range(4)]
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    for phone in phones:
        ok(phone.report({TIKTOK: None}))  # all four hold it
    for minutes, phone in zip((5, 10, 15, 20), phones, strict=True):
        env.clock.set(START + timedelta(minutes=minutes))
        ok(phone.report({}))  # one removes it every 5 minutes
    env.clock.set(START + timedelta(minutes=30))
    twin = compliance(env, who.aude, f"/determinations/{number}/compliance/trend")
    shares = [p["percent"] for p in twin["points"]]
    assert shares == [0.0, 25.0, 50.0, 75.0, 100.0, 100.0]  # the last point: now
    assert twin["points"][-1]["at"].startswith("2026-11-23T09:30")
    assert all(p["devices"] == 4 for p in twin["points"])
    make_user(env, "ines", Role.auditor)
    sign_in(env, "ines")
    page = env.client.get("/", headers=HTML).text
    [line] = _figures(page, "trend-chart")["datasets"]
    assert line["label"].startswith(f"{number}. ")
    assert [y for _x, y in line["points"]] == shares
    times = [x for x, _y in line["points"]]
    assert times == sorted(times) and times[-1] == int(
        (START + timedelta(minutes=30)).timestamp() * 1000
    )
    with env.session() as session:  # thinned: the last point of each slice of time, then now
        few = trend.trend(session, number, now=env.clock.now(), points=3).points
    assert [p.percent for p in few] == [50.0, 100.0, 100.0]
    missing = env.client.get("/api/v1/determinations/999/compliance/trend",
                             headers=env.headers(who.aude))  # fmt: skip
    assert missing.status_code == 404


def test_an_empty_dashboard_says_so_in_both_languages(env: Env) -> None:
    make_user(env, "ines", Role.auditor)
    sign_in(env, "ines")
    page = env.client.get("/", headers=HTML).text
    assert "No determination is in force." in page and "No device is behind." in page
    assert "No active waiver ends within 14 days." in page
    env.client.cookies.set("appwarden_lang", "fr")
    page = env.client.get("/", headers=HTML).text
    assert "Tableau de bord" in page and "Aucune décision n’est en vigueur." in page


def test_not_signed_in_goes_to_the_sign_in_page(env: Env) -> None:
    for path in ("/", "/dashboard/compliance"):
        response = env.client.get(path, headers=HTML, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in")
