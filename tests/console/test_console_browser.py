"""The console in Chromium: sign in, the audit page, verify the chain, French, no
JavaScript, stored markup, a refused role. Every page passes axe-core (WCAG 2.1 A/AA) with
no console error, at 1280 and 390 px, and leaves a screenshot in out/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, expect

from appwarden.audit import service as audit
from appwarden.auth import service as auth
from appwarden.auth.roles import Role
from appwarden.clock import SystemClock
from appwarden.db import make_engine, make_sessionmaker
from tests.console.browser import (
    WIDTHS,
    Visit,
    browser,
    open_visit,
    seeded_server,
    sign_in_as,
)
from tests.enforcement.live import AUDIT_KEY
from tests.server import PASSWORD

__all__ = ["browser"]  # the session's Chromium, a fixture
# One worker runs them one after another (make test: --dist loadgroup): one server, one
# Chromium.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
XSS = "<script>alert(1)</script>"


def _seed(database_url: str) -> None:
    """Users (at the cheapest argon2 cost) and an event carrying markup, written directly."""
    engine = make_engine(database_url, pool_size=1)
    clock = SystemClock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
        with make_sessionmaker(engine)() as session, session.begin():
            for username, role, name in (
                ("aude", Role.auditor, "Aude Auditor"),
                ("ana", Role.analyst, "Ana Analyst"),
                ("mallory", Role.auditor, XSS),
            ):
                auth.create_user(
                    session,
                    clock=clock,
                    username=username,
                    display_name=name,
                    role=role,
                    password=PASSWORD,
                )
            audit.append(
                session,
                key=AUDIT_KEY.encode(),
                clock=clock,
                actor="ana",
                action="app.create",
                object_type="app",
                object_id=XSS[:64],
                after={"label": XSS},
            )
    engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from seeded_server(tmp_path_factory, "console-live", _seed)


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def visit(request: pytest.FixtureRequest, browser: Browser, server: str) -> Iterator[Visit]:
    yield from open_visit(browser, server, request.param)


def test_auditor_signs_in_and_verifies_the_chain(visit: Visit) -> None:
    page = visit.page
    page.goto(visit.base + "/audit")
    assert page.url.endswith("/sign-in?next=%2Faudit")  # not signed in: to the form
    sign_in_as(visit, "aude", then="/audit")
    assert page.url == visit.base + "/audit"
    visit.check("audit")
    expect(page.get_by_text("Signed in as")).to_contain_text("Aude Auditor (auditor)")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(
        ["Home", "Apps", "Determinations", "Devices", "Groups", "Reports", "Exports", "Audit"]
    )

    page.get_by_role("button", name="Verify chain").click()
    expect(page.locator("#verify-result")).to_contain_text("The chain holds.")
    assert page.url == visit.base + "/audit"  # htmx replaced the box, the page stayed
    visit.check("audit-verified")

    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["appwarden_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Lax"
    assert page.evaluate("() => document.cookie") == ""  # scripts cannot read it

    # A POST without the page's token (as another site would send it) is refused.
    refused = page.request.post(visit.base + "/sign-out", form={"csrf_token": "0" * 64})
    assert refused.status == 403
    visit.open("/audit", "audit")  # still signed in

    page.get_by_role("link", name="Français").click()
    expect(page.locator("h1")).to_have_text("Journal de vérification")
    visit.check("audit-fr")
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.locator("h1")).to_have_text("Se connecter")
    visit.check("signed-out-fr")


def test_stored_markup_renders_as_text(visit: Visit) -> None:
    sign_in_as(visit, "mallory", then="/audit", check=False)
    visit.open("/audit?action=app.create", "audit-markup")
    expect(visit.page.locator(".who strong")).to_have_text(XSS)
    visit.page.get_by_text("Show").first.click()
    expect(visit.page.locator("pre").first).to_contain_text(XSS)
    assert visit.page.locator("script:not([src])").count() == 0
    assert visit.errors == []  # no alert() dialog ran


def test_a_role_without_audit_gets_a_403_page(visit: Visit) -> None:
    sign_in_as(visit, "ana", check=False)
    home = visit.open("/", "home-analyst")
    nav = home.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(
        ["Home", "Apps", "Determinations", "Devices", "Groups", "Reports", "Exports"]
    )
    page = visit.open("/audit", "forbidden", status=403)
    expect(page.locator("h1")).to_have_text("Not allowed")


@pytest.mark.parametrize("width", [390])
def test_readable_without_javascript(browser: Browser, server: str, width: int) -> None:
    for visit in open_visit(browser, server, width, javascript=False):
        sign_in_as(visit, "aude", then="/audit", check=False)
        expect(visit.page.locator("tbody tr").first).to_be_visible()
        visit.page.get_by_role("button", name="Verify chain").click()
        expect(visit.page.locator("#verify-result")).to_contain_text("The chain holds.")
        assert "/audit/verify" in visit.page.url  # a whole page, served without scripts
        visit.check("audit-no-javascript", axe=False)  # axe needs scripts; same markup as above


def test_assets_are_served_by_the_app(server: str) -> None:
    for path in ("/static/vendor/htmx.min.js", "/static/vendor/axe.min.js", "/static/console.css"):
        response = httpx.get(server + path)
        assert response.status_code == 200, path
    page = httpx.get(server + "/sign-in").text
    assert "http://" not in page.replace(server, "") and "https://" not in page
