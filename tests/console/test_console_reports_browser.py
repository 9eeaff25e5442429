"""The reports and exports pages in Chromium: an auditor downloads the compliance report as
CSV, opens the printable page (also checked in print media), sees why a future date is
refused, and downloads an export for a group. axe-core finds no WCAG 2.1 A/AA violation at
1280 and 390 px, and no page logs a console error."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from appwarden.console.assets import STATIC
from tests.compliance_report.support import scene
from tests.console.browser import WIDTHS, Visit, browser, open_visit, sign_in_as
from tests.enforcement.live import Server, sqlite_url
from tests.server import START, running_env

__all__ = ["browser"]
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
AXE = STATIC / "vendor" / "axe.min.js"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path
) -> Iterator[dict[str, Any]]:
    """A fleet whose compliance changed at known times (written in-process), then served."""
    folder = tmp_path_factory.mktemp("console-reports")
    url = sqlite_url(folder)
    shutil.copy(_sqlite_template, folder / "appwarden.db")
    with running_env(url, folder / "seed", reconcile=False) as env:
        number = scene(env).number
    running = Server(url, folder / "data", {"APPWARDEN_AUDIT_KEY": "test-audit-key"}).start()
    try:
        yield {"url": running.url, "number": number}
    finally:
        running.stop()


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def visit(
    request: pytest.FixtureRequest, server: dict[str, Any], browser: Browser
) -> Iterator[Visit]:
    yield from open_visit(browser, server["url"], request.param)


def test_auditor_downloads_and_prints_the_compliance_report(
    visit: Visit, server: dict[str, Any]
) -> None:
    page = visit.page
    number = server["number"]
    sign_in_as(visit, "aude", then=f"/reports?determination={number}", check=False)
    visit.check("reports")
    page.get_by_label("As of (the end of that day, UTC)").fill(START.date().isoformat())
    with page.expect_download() as waiting:
        page.get_by_role("button", name="Download CSV").click()
    download = waiting.value
    assert download.suggested_filename.startswith(f"compliance-d{number}-")
    assert download.suggested_filename.endswith(".csv")
    assert Path(download.path()).read_text(encoding="utf-8").startswith("as_of,determination_id")

    with page.expect_navigation():
        page.get_by_role("button", name="Open the printable page").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Compliance report as of")
    expect(page.get_by_role("img")).to_have_count(1)  # the chart
    page.evaluate(AXE.read_text(encoding="utf-8"))  # the page's own CSP admits no script
    visit.check("report-printable")
    page.emulate_media(media="print")
    visit.check("report-printable-print")
    page.emulate_media(media="screen")

    visit.open("/reports/compliance?as_of=2999-01-01", "reports-refused", status=422)
    expect(page.get_by_role("alert")).to_contain_text("The date is in the future")


def test_auditor_downloads_an_export_for_a_group(visit: Visit, server: dict[str, Any]) -> None:
    page = visit.page
    sign_in_as(visit, "aude", then="/exports", check=False)
    visit.check("exports")
    page.get_by_label("Device group").select_option("government-issued")
    with page.expect_navigation():
        page.get_by_role("button", name="Show the exports").click()
    expect(
        page.get_by_role("heading", name="Files for the group government-issued")
    ).to_be_visible()
    visit.check("exports-group")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download amapi").click()
    assert waiting.value.suggested_filename == "appwarden-government-issued-amapi.json"
    assert "com.zhiliaoapp.musically" in Path(waiting.value.path()).read_text(encoding="utf-8")
