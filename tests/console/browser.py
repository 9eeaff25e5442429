"""Browser tests' tools: a real ``appwarden serve``, Debian's Chromium through Playwright,
and :func:`Visit.check`, which every page a test opens goes through: no browser console
error, no WCAG 2.1 A/AA violation by axe-core (served by the app at /static/vendor), and a
screenshot in ``out/screenshots/``.

To test a new page: sign in with :func:`sign_in_as`, ``visit.open("/path", "name")``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.enforcement.live import Server, sqlite_url
from tests.server import PASSWORD

CHROMIUM = Path(os.environ.get("APPWARDEN_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
WIDTHS = (1280, 390)
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Not longer: Playwright's sync API holds an event loop
    on the thread while it runs, and a later test of another module that starts its own
    (asyncio.run) would fail, so it is closed as soon as the module's tests are done."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI (.ci/run installs chromium)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@dataclass
class Visit:
    """One browser page at one width, watching the console and dialogs."""

    page: Page
    base: str
    width: int
    errors: list[str] = field(default_factory=list)
    #: "Failed to load resource" lines for statuses a test expects (a 403 page).
    expected_statuses: set[int] = field(default_factory=set)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        status = re.search(r"status of (\d{3})", message.text)
        if status and int(status.group(1)) in self.expected_statuses:
            return
        self.errors.append(f"console: {message.text}")

    def open(self, path: str, name: str, *, status: int = 200) -> Page:
        """Go to ``path``, expect ``status``, and check the page."""
        if status != 200:
            self.expected_statuses.add(status)
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == status, (path, response)
        self.check(name)
        return self.page

    def check(self, name: str, *, axe: bool = True) -> None:
        """No console error so far, no axe violation, and a screenshot named ``name``."""
        self.page.wait_for_load_state("load")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=SCREENSHOTS / f"{name}-{self.width}.png", full_page=True)
        if axe:
            violations = self.axe()
            assert violations == [], f"{name} at {self.width} px: {violations}"
        assert self.errors == [], f"{name} at {self.width} px: {self.errors}"

    def axe(self) -> list[dict[str, Any]]:
        if not self.page.evaluate("() => typeof axe !== 'undefined'"):
            self.page.add_script_tag(url="/static/vendor/axe.min.js")
        violations: list[dict[str, Any]] = self.page.evaluate(_AXE, WCAG)
        return violations


def open_visit(
    browser: Browser, base: str, width: int, *, javascript: bool = True
) -> Iterator[Visit]:
    context = browser.new_context(
        viewport={"width": width, "height": 900}, java_script_enabled=javascript, base_url=base
    )
    page = context.new_page()
    visit = Visit(page=page, base=base, width=width)
    page.on("console", visit._console)
    page.on("pageerror", lambda error: visit.errors.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: visit.errors.append(f"dialog: {dialog.message}"))
    try:
        yield visit
    finally:
        context.close()


def seeded_server(
    factory: pytest.TempPathFactory, name: str, seed: Callable[[str], None]
) -> Iterator[str]:
    """A module's ``appwarden serve`` on a fresh SQLite database, ``seed`` given its URL
    once the server has migrated it; yields the server's URL and stops it afterwards."""
    folder = factory.mktemp(name)
    running = Server(sqlite_url(folder), folder / "data").start()
    try:
        seed(running.database_url)
        yield running.url
    finally:
        running.stop()


def sign_in_as(visit: Visit, username: str, *, then: str = "/", check: bool = True) -> None:
    """Fill in the sign-in form (checked as a page of its own) and land on ``then``."""
    if check:
        visit.open(f"/sign-in?next={then}", "sign-in")
    else:
        visit.page.goto(f"{visit.base}/sign-in?next={then}")
    visit.page.get_by_label("User name").fill(username)
    visit.page.get_by_label("Password").fill(PASSWORD)
    with visit.page.expect_navigation():
        visit.page.get_by_role("button", name="Sign in").click()
