"""The Partners' lists page in Chromium: an auditor chooses a partner's list and reads the
comparison (htmx), in English and in French. Every state passes axe-core (WCAG 2.1 A/AA)
with no console error, at 1280 and 390 px, and leaves a screenshot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, expect
from sqlalchemy import insert

from appwarden.auth import service as auth
from appwarden.auth.roles import Role
from appwarden.clock import SystemClock
from appwarden.db import make_engine, make_sessionmaker
from appwarden.models import Base
from tests.console.browser import (
    WIDTHS,
    Visit,
    browser,
    open_visit,
    seeded_server,
    sign_in_as,
)
from tests.partners.test_format import example
from tests.server import PASSWORD

__all__ = ["browser"]  # the module's Chromium, a fixture
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _seed(database_url: str) -> None:
    """An auditor, and one determination in force on WeChat (written directly)."""
    engine = make_engine(database_url, pool_size=1)
    now = SystemClock().now()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
        with make_sessionmaker(engine)() as session, session.begin():
            auth.create_user(session, clock=SystemClock(), username="aude", display_name="Aude",
                             role=Role.auditor, password=PASSWORD)  # fmt: skip
            session.execute(insert(Base.metadata.tables["determinations"]).values(
                title="WeChat", target_kind="app", target_value="com.tencent.mm", action="ban",
                scope=["*"], authority="CIO", instrument="Policy", rationale="Risk.",
                review_at=now + timedelta(days=60), status="in_force", interim=False,
                effective_at=now, created_by="seed", created_at=now, updated_at=now,
            ))  # fmt: skip
    engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from seeded_server(tmp_path_factory, "partners-live", _seed)


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def visit(request: pytest.FixtureRequest, browser: Browser, server: str) -> Iterator[Visit]:
    yield from open_visit(browser, server, request.param)


def test_an_auditor_compares_a_partners_list(visit: Visit, tmp_path: Path) -> None:
    listed = tmp_path / "canada.json"
    listed.write_bytes(example("json"))
    page = visit.page
    sign_in_as(visit, "aude", then="/determinations", check=False)
    page.get_by_role("link", name="Compare with a partner's list").click()
    expect(page.locator("h1")).to_have_text("Partners' lists")
    visit.check("partners")

    page.get_by_label("Partner's list", exact=True).set_input_files(listed)
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("#comparison-heading")).to_contain_text("CA: Statement on TikTok")
    expect(page.get_by_text("1 in both, 0 only ours, 3 only theirs.")).to_be_visible()
    expect(page.locator("#upload-result .differs")).to_have_text("(differs)")
    expect(page.get_by_role("link", name="Determination 1")).to_be_visible()
    visit.check("partners-comparison")

    page.get_by_role("link", name="Français").click()
    expect(page.locator("h1")).to_have_text("Listes des partenaires")
    page.get_by_label("Liste du partenaire", exact=True).set_input_files(listed)
    page.get_by_role("button", name="Comparer").click()
    expect(
        page.get_by_text("1 dans les deux, 0 seulement chez nous, 3 seulement chez eux.")
    ).to_be_visible()
    visit.check("partners-comparison-fr")
