"""The determination and dashboard pages in Chromium: an analyst proposes, an approver
(signed in with TOTP) approves, and the page shows it in force; the dashboard draws its
chart; an auditor sees no button and a forged POST is refused. axe-core finds no WCAG 2.1
A/AA violation at 1280 and 390 px, and no page logs a console error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pyotp
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, expect

from appwarden.auth import service as auth
from appwarden.auth.roles import Role
from appwarden.clock import SystemClock
from appwarden.db import make_engine, make_sessionmaker
from tests.console.browser import WIDTHS, Visit, browser, open_visit, sign_in_as
from tests.decisions.support import Catalog, seed_catalog
from tests.enforcement.live import Server, sqlite_url
from tests.server import PASSWORD, Env

__all__ = ["browser"]
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _seed(database_url: str) -> tuple[Catalog, str, str]:
    """Users (cheap argon2), a catalog with assessments; (catalog, analyst token, TOTP secret)."""
    engine = make_engine(database_url, pool_size=1)
    clock = SystemClock()
    sessions = make_sessionmaker(engine)
    secret = token = ""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
        with sessions() as session, session.begin():
            for username, role in (("ana", Role.analyst), ("alex", Role.approver),
                                   ("aude", Role.auditor), ("drafter", Role.analyst)):  # fmt: skip
                user, totp = auth.create_user(
                    session, clock=clock, username=username, display_name=username.title(),
                    role=role, password=PASSWORD,
                )  # fmt: skip
                secret = totp or secret
                if username == "drafter":
                    _token, token = auth.issue_token(
                        session, clock=clock, user=user, name="t", days=1
                    )
    catalog = seed_catalog(cast(Env, SimpleNamespace(session=sessions)))
    engine.dispose()
    return catalog, token, secret


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("console-decide")
    running = Server(sqlite_url(folder), folder / "data").start()
    try:
        catalog, token, secret = _seed(running.database_url)
        yield {"url": running.url, "catalog": catalog, "token": token, "secret": secret}
    finally:
        running.stop()


def _draft(server: dict[str, Any], title: str) -> int:
    now = datetime.now(UTC)
    body = {
        "title": title,
        "target": {"kind": "app", "app_id": "com.zhiliaoapp.musically", "platform": None},
        "action": "ban",
        "scope": ["*"],
        "authority": "Chief Information Officer",
        "instrument": "Policy on Service and Digital, 4.4.2.4",
        "rationale": "Unacceptable level of risk to privacy and security.",
        "evidence": [server["catalog"].assessment],
        "review_at": (now + timedelta(days=60)).isoformat(),
    }
    headers = {"Authorization": f"Bearer {server['token']}"}
    # A loaded machine may take longer than httpx's 5 s default on a fresh server.
    url = server["url"] + "/api/v1/determinations"
    response = httpx.post(url, json=body, headers=headers, timeout=60)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def visit(
    request: pytest.FixtureRequest, browser: Browser, server: dict[str, Any]
) -> Iterator[Visit]:
    yield from open_visit(browser, server["url"], request.param)


def _approver_signs_in(visit: Visit, secret: str, then: str) -> None:
    visit.page.goto(f"{visit.base}/sign-in?next={then}")
    visit.page.get_by_label("User name").fill("alex")
    visit.page.get_by_label("Password").fill(PASSWORD)
    visit.page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    with visit.page.expect_navigation():
        visit.page.get_by_role("button", name="Sign in").click()


def test_analyst_proposes_approver_approves_page_shows_in_force(
    visit: Visit, server: dict[str, Any], browser: Browser
) -> None:
    number = _draft(server, f"TikTok at {visit.width} px")
    page = visit.page
    sign_in_as(visit, "ana", then=f"/determinations/{number}", check=False)
    visit.check("determination-draft")
    expect(page.locator(".lead .status")).to_have_text("draft")
    page.get_by_role("button", name="Propose").click()
    expect(page.get_by_role("status")).to_contain_text("Done: Propose.")
    expect(page.locator(".lead .status")).to_have_text("proposed")
    visit.check("determination-proposed")
    visit.open("/determinations", "determinations")
    expect(page.get_by_role("link", name=f"TikTok at {visit.width} px")).to_be_visible()

    for second in open_visit(browser, server["url"], visit.width):
        _approver_signs_in(second, server["secret"], f"/determinations/{number}")
        approver = second.page
        expect(approver.get_by_text("Signed in as")).to_contain_text("(approver)")
        expect(approver.get_by_role("button", name="Propose")).to_have_count(0)
        second.expected_statuses.add(422)  # the refusal is a 422 page
        approver.get_by_role("button", name="Approve now, as an interim measure").click()
        expect(approver.get_by_role("alert")).to_contain_text("Give a note")  # refused
        second.check("determination-refused")
        approver.get_by_label("Note for “Approve now, as an interim measure”").fill(
            "Urgent: data leaves the country."
        )
        approver.get_by_role("button", name="Approve now, as an interim measure").click()
        expect(approver.locator(".lead .status")).to_have_text("in force")
        expect(approver.locator(".timeline").first).to_contain_text("Urgent: data leaves")
        second.check("determination-in-force")
        second.open("/", "dashboard")
        expect(approver.locator("#compliance-chart")).to_be_visible()
        expect(
            approver.get_by_role("link", name=f"TikTok at {visit.width} px").first
        ).to_be_visible()
        # The chart is drawn (Chart.js sized the canvas), under the page's CSP.
        assert approver.evaluate("() => Chart.getChart('compliance-chart') !== undefined")


def test_auditor_sees_no_button_and_a_forged_post_is_refused(
    visit: Visit, server: dict[str, Any]
) -> None:
    number = _draft(server, f"Forged at {visit.width} px")
    sign_in_as(visit, "aude", then=f"/determinations/{number}", check=False)
    visit.check("determination-auditor")
    page = visit.page
    expect(page.get_by_role("button", name="Propose")).to_have_count(0)
    expect(page.get_by_role("heading", name="Audit events")).to_be_visible()
    token = page.locator("body").get_attribute("hx-headers") or ""
    csrf = token.split('"X-CSRF-Token": "')[1].split('"')[0]
    forged = page.request.post(
        f"{visit.base}/determinations/{number}/propose", form={"csrf_token": csrf}
    )
    assert forged.status == 403
    no_token = page.request.post(f"{visit.base}/determinations/{number}/propose", form={})
    assert no_token.status == 403
    visit.open(f"/determinations/{number}", "determination-auditor-after")
    expect(page.locator(".lead .status")).to_have_text("draft")


@pytest.mark.parametrize("width", [390])
def test_dashboard_readable_without_javascript(
    browser: Browser, server: dict[str, Any], width: int
) -> None:
    for visit in open_visit(browser, server["url"], width, javascript=False):
        sign_in_as(visit, "aude", check=False)
        expect(visit.page.locator("h1")).to_have_text("Dashboard")
        expect(visit.page.get_by_role("heading", name="Reviews due")).to_be_visible()
        visit.check("dashboard-no-javascript", axe=False)
