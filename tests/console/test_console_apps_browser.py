"""The Apps page and the assessment report in Chromium: an analyst signs in, uploads a
fixture APK (htmx, and without JavaScript), and reads its report with its chart; stored
markup in an app's name and label shows as text. Every page passes axe-core (WCAG 2.1
A/AA) with no console error, at 1280 and 390 px, and leaves a screenshot."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, expect

from appwarden.audit.service import Acting
from appwarden.auth import service as auth
from appwarden.auth.roles import Role
from appwarden.catalog import service as catalog
from appwarden.clock import SystemClock
from appwarden.db import make_engine, make_sessionmaker
from builders import apk_bytes, manifest
from tests.catalog.helpers import URZIP, fixture_app
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

__all__ = ["browser"]  # the module's Chromium, a fixture
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
XSS = "<script>alert(1)</script>"


def _seed(database_url: str) -> None:
    """An analyst, an auditor, and an app whose name carries markup, written directly."""
    engine = make_engine(database_url, pool_size=1)
    clock = SystemClock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
        with make_sessionmaker(engine)() as session, session.begin():
            for username, role in (("ana", Role.analyst), ("aude", Role.auditor)):
                auth.create_user(
                    session,
                    clock=clock,
                    username=username,
                    display_name=username.title(),
                    role=role,
                    password=PASSWORD,
                )
            catalog.create_app(
                session,
                clock=clock,
                acting=Acting("seed", AUDIT_KEY.encode()),
                platform="android",
                app_id="org.example.markup",
                name=XSS,
            )
    engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from seeded_server(tmp_path_factory, "console-apps-live", _seed)


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def visit(request: pytest.FixtureRequest, browser: Browser, server: str) -> Iterator[Visit]:
    yield from open_visit(browser, server, request.param)


def _upload(visit: Visit, path: Path) -> None:
    page = visit.page
    page.get_by_label("App file", exact=True).set_input_files(path)
    with page.expect_navigation(url=re.compile(r"/assessments/\d+$")):
        page.get_by_role("button", name="Upload and vet").click()


def test_analyst_uploads_an_apk_and_reads_its_report(visit: Visit) -> None:
    page = visit.page
    sign_in_as(visit, "ana", then="/apps")
    visit.check("apps")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(
        ["Home", "Apps", "Determinations", "Devices", "Groups", "Reports", "Exports"]
    )

    _upload(visit, fixture_app(URZIP))
    expect(page.locator("h1")).to_contain_text("Assessment of")
    expect(page.locator(".facts code").first).to_have_text("info.guardianproject.urzip")
    # The chart was drawn (Chart.js sizes its canvas) and its figures are in the table.
    expect(page.locator("#score-chart")).to_have_attribute("width", re.compile(r"^[1-9]\d*$"))
    expect(page.locator("#score-table tbody tr").first).to_be_visible()
    visit.check("assessment")

    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("#score-table")).to_be_visible()
    visit.check("assessment-print", axe=False)  # the same markup, printed
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Français").click()
    expect(page.locator("#score-heading")).to_have_text("Détail du score")
    visit.check("assessment-fr")

    page.get_by_role("link", name="Applications").first.click()
    expect(page.get_by_role("link", name=re.compile(r"score \d+"))).not_to_have_count(0)
    visit.check("apps-fr")


def test_search_shows_markup_as_text(visit: Visit) -> None:
    sign_in_as(visit, "aude", then="/apps", check=False)
    page = visit.open("/apps?q=markup", "apps-search")
    expect(page.locator("td.app-name")).to_have_text([XSS])
    expect(page.get_by_role("heading", name="Upload an app file")).to_have_count(0)  # auditor
    assert page.locator("script:not([src])").count() == 0
    assert visit.errors == []  # no alert() dialog ran


def test_a_crafted_label_renders_as_text(visit: Visit, tmp_path: Path) -> None:
    crafted = tmp_path / "crafted.apk"
    crafted.write_bytes(
        apk_bytes(manifest("org.example.crafted", application_attrs={"android:label": XSS}))
    )
    sign_in_as(visit, "ana", then="/apps", check=False)
    _upload(visit, crafted)
    expect(visit.page.locator(".app-label")).to_have_text(XSS)
    expect(visit.page.locator("h1")).to_have_text(f"Assessment of {XSS}")
    visit.check("assessment-markup")
    assert visit.errors == []


@pytest.mark.parametrize("width", [390])
def test_upload_without_javascript(browser: Browser, server: str, width: int) -> None:
    for visit in open_visit(browser, server, width, javascript=False):
        sign_in_as(visit, "ana", then="/apps", check=False)
        page = visit.page
        page.get_by_label("App file", exact=True).set_input_files(fixture_app(URZIP))
        with page.expect_navigation(url=re.compile(r"/assessments/\d+$")):
            page.get_by_role("button", name="Upload and vet").click()
        expect(page.locator("#score-table tbody tr").first).to_be_visible()
        expect(page.locator("#score-chart")).to_have_count(1)  # there, but not drawn
        visit.check("assessment-no-javascript", axe=False)  # axe needs scripts
