"""The whole flow in Chromium against a real ``appwarden serve``: an analyst signs in,
uploads a fixture APK, drafts a ban from its assessment and proposes it; an approver
(signed in with TOTP) approves it; a simulated fleet of 50 devices holding the app
(``appwarden simulate``, a process of its own) obeys, and the dashboard shows compliance
reaching 100 %; an auditor signs in and verifies the audit chain.

Every page passes axe-core (WCAG 2.1 A/AA) with no browser console error and leaves a
screenshot in ``out/screenshots/`` (``flow-*``); the dashboard at 100 % and the assessment
report are also saved as seen in the window (``readme-*.png``), which
``tools/screenshots.py`` copies to ``docs/images/`` for the README."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import Browser, expect

from appwarden.auth import service as auth
from appwarden.auth.roles import Role
from appwarden.clock import SystemClock
from appwarden.db import make_engine, make_sessionmaker
from tests.catalog.helpers import URZIP, fixture_app
from tests.console.browser import SCREENSHOTS, Visit, browser, open_visit, sign_in_as
from tests.enforcement.live import Server, sqlite_url
from tests.server import PASSWORD

__all__ = ["browser"]
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
APP_ID = "info.guardianproject.urzip"
DEVICES = 50
WIDTH = 1280
#: The dashboard polls every 5 s; 50 agents long-polling wake up within a second or two.
COMPLIANT_WITHIN_MS = 120_000


def _seed(database_url: str) -> dict[str, str]:
    """The four people (cheap argon2): the approver's TOTP secret, an API token each."""
    engine = make_engine(database_url, pool_size=1)
    clock = SystemClock()
    found: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
        with make_sessionmaker(engine)() as session, session.begin():
            for username, role in (("ana", Role.analyst), ("alex", Role.approver),
                                   ("aude", Role.auditor), ("olu", Role.operator)):  # fmt: skip
                user, totp = auth.create_user(
                    session, clock=clock, username=username, display_name=username.title(),
                    role=role, password=PASSWORD,
                )  # fmt: skip
                if totp:
                    found["totp"] = totp
                found[f"{username}_token"] = auth.issue_token(
                    session, clock=clock, user=user, name="api", days=1
                )[1]
    engine.dispose()
    return found


def _enrollment_token(url: str, operator: str) -> str:
    headers = {"Authorization": f"Bearer {operator}"}
    group = httpx.post(f"{url}/api/v1/groups", json={"name": "government-issued"},
                       headers=headers, timeout=60)  # fmt: skip
    assert group.status_code == 201, group.text
    body = {"group_id": group.json()["id"], "max_uses": DEVICES}
    token = httpx.post(f"{url}/api/v1/enrollment-tokens", json=body, headers=headers, timeout=60)
    assert token.status_code == 201, token.text
    clear: str = token.json()["token"]
    return clear


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server, its people, and 50 simulated devices enrolled with the app installed."""
    folder = tmp_path_factory.mktemp("console-flow")
    options = {"APPWARDEN_ENROLL_LIMIT": "1000"}  # 50 devices from one address
    running = Server(sqlite_url(folder), folder / "data", options=options).start()
    simulator: subprocess.Popen[bytes] | None = None
    try:
        people = _seed(running.database_url)
        token = _enrollment_token(running.url, people["olu_token"])
        script = Path(sys.executable).with_name("appwarden")
        with (folder / "simulator.log").open("ab") as log:
            simulator = subprocess.Popen(
                [str(script), "simulate", "--server", running.url, "--devices", str(DEVICES),
                 "--token", token, "--install-base", APP_ID, "--wait", "10",
                 "--duration", "900"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        yield {"url": running.url, "people": people, "folder": folder, "simulator": simulator}
    finally:
        if simulator is not None and simulator.poll() is None:
            simulator.terminate()
            simulator.wait(timeout=30)
        running.stop()


def _wait_for_fleet(flow: dict[str, Any]) -> None:
    """Until every simulated device is enrolled (the module's server may be new: pytest
    sets module fixtures up again when tests of other modules ran in between)."""
    deadline = time.monotonic() + 120
    while _enrolled(flow) < DEVICES:
        assert flow["simulator"].poll() is None, (flow["folder"] / "simulator.log").read_text()
        assert time.monotonic() < deadline, "the simulated fleet did not enroll in 120 s"
        time.sleep(0.5)


def _enrolled(flow: dict[str, Any]) -> int:
    headers = {"Authorization": f"Bearer {flow['people']['olu_token']}"}
    answer = httpx.get(f"{flow['url']}/api/v1/devices?limit=1", headers=headers, timeout=60)
    total: int = answer.json()["total"]
    return total


def _analyst_drafts_and_proposes(visit: Visit) -> int:
    page = visit.page
    sign_in_as(visit, "ana", then="/apps")
    visit.check("flow-apps")
    page.get_by_label("App file", exact=True).set_input_files(fixture_app(URZIP))
    with page.expect_navigation(url=re.compile(r"/assessments/\d+$")):
        page.get_by_role("button", name="Upload and vet").click()
    expect(page.locator(".facts code").first).to_have_text(APP_ID)
    visit.check("flow-assessment")
    top = {"x": 0, "y": 0, "width": WIDTH, "height": 1700}  # identity, signers, the score
    page.screenshot(path=SCREENSHOTS / "readme-assessment.png", full_page=True, clip=top)
    page.get_by_role("link", name="Draft a determination against this app").click()
    visit.check("flow-draft")
    page.get_by_label("Authority").fill("Chief Information Officer")
    page.get_by_label("Instrument").fill("Policy on Service and Digital, 4.4.2.4")
    page.get_by_label("Rationale").fill("Unacceptable level of risk to privacy and security.")
    page.get_by_role("button", name="Write the draft").click()
    expect(page.get_by_role("status")).to_contain_text("Done: Draft written.")
    number = int(re.search(r"/determinations/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    page.get_by_role("button", name="Propose").click()
    expect(page.locator(".lead .status")).to_have_text("proposed")
    visit.check("flow-proposed")
    return number


def _approver_approves(visit: Visit, secret: str, number: int) -> None:
    page = visit.page
    page.goto(f"{visit.base}/sign-in?next=/determinations/{number}")
    page.get_by_label("User name").fill("alex")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    visit.check("flow-to-approve")
    label = "Note for “Approve now, as an interim measure”"
    page.get_by_label(label).fill("Urgent: data leaves the country; the notice follows.")
    page.get_by_role("button", name="Approve now, as an interim measure").click()
    expect(page.locator(".lead .status")).to_have_text("in force")
    visit.check("flow-in-force")


def test_upload_propose_approve_fleet_complies_auditor_verifies(
    browser: Browser, flow: dict[str, Any]
) -> None:
    for analyst in open_visit(browser, flow["url"], WIDTH):
        number = _analyst_drafts_and_proposes(analyst)
    _wait_for_fleet(flow)  # the whole fleet attached, holding the app, first

    for approver in open_visit(browser, flow["url"], WIDTH):
        _approver_approves(approver, flow["people"]["totp"], number)
        page = approver.page
        approver.open("/", "flow-dashboard")
        link = page.locator(f'a[href="/determinations/{number}"]')
        row = page.locator("#compliance-now tbody tr", has=link)
        expect(row.locator("td").nth(1)).to_have_text("100 %", timeout=COMPLIANT_WITHIN_MS)
        expect(row.locator("td").nth(2)).to_have_text(str(DEVICES))  # compliant
        expect(page.get_by_text("No device is behind.")).to_be_visible()
        assert page.evaluate("() => Chart.getChart('trend-chart') !== undefined")
        approver.check("flow-dashboard-100")
        page.screenshot(path=SCREENSHOTS / "readme-dashboard.png")  # tools/screenshots.py
        approver.open("/devices?compliance=compliant", "flow-devices")
        expect(page.locator("tbody tr")).to_have_count(DEVICES)
        page.locator("tbody tr a").first.click()
        expect(page.get_by_role("heading", name="Installed apps")).to_be_visible()
        approver.check("flow-device")

    for auditor in open_visit(browser, flow["url"], WIDTH):
        sign_in_as(auditor, "aude", then="/audit")
        auditor.check("flow-audit")
        auditor.page.get_by_role("button", name="Verify chain").click()
        expect(auditor.page.locator("#verify-result")).to_contain_text("The chain holds.")
        auditor.check("flow-audit-verified")


def _api(flow: dict[str, Any], who: str, path: str, **request: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {flow['people'][who + '_token']}"}
    answer = httpx.post(f"{flow['url']}/api/v1{path}", headers=headers, timeout=60, **request)
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, Any] = answer.json()
    return body


def _in_force(flow: dict[str, Any], title: str) -> int:
    """A ban of another app, in force in the fleet's group, through the API."""
    with fixture_app(URZIP).open("rb") as file:
        uploaded = _api(flow, "ana", "/apps/upload", files={"file": (URZIP, file)})
    body = {
        "title": title, "action": "ban", "scope": ["government-issued"],
        "target": {"kind": "app", "app_id": "org.example.other", "platform": None},
        "authority": "Chief Information Officer", "instrument": "Policy 4.4.2.4",
        "rationale": "Unacceptable risk.", "evidence": [uploaded["assessment"]["id"]],
        "review_at": "2099-01-01T00:00:00+00:00",
    }  # fmt: skip
    number = int(_api(flow, "ana", "/determinations", json=body)["id"])
    _api(flow, "ana", f"/determinations/{number}/propose", json={})
    _api(flow, "alex", f"/determinations/{number}/approve-interim", json={"note": "urgent"})
    return number


@pytest.mark.parametrize("width", [1280, 390])
def test_fleet_pages_and_a_waiver_request(
    browser: Browser, flow: dict[str, Any], width: int
) -> None:
    """The operator reads devices and groups, and requests a waiver for one device, in
    English then French, at both widths."""
    _wait_for_fleet(flow)
    number = _in_force(flow, f"Other app at {width} px")
    for visit in open_visit(browser, flow["url"], width):
        page = visit.page
        sign_in_as(visit, "olu", then="/devices", check=False)
        visit.check("devices")
        page.get_by_label("Platform").select_option("android")
        page.get_by_role("button", name="Apply").click()
        visit.check("devices-filtered")
        device = page.locator("tbody tr a").first.inner_text()
        visit.open("/groups", "groups")
        page.get_by_role("link", name="government-issued").click()
        expect(page.get_by_role("heading", name="Static members")).to_be_visible()
        visit.check("group")
        visit.open(f"/devices/{device}", "device")
        expect(page.get_by_role("link", name=f"Other app at {width} px")).to_be_visible()
        visit.open(f"/determinations/{number}", "determination-waivers")
        page.get_by_label("Devices (identifiers, one a line)").fill(device)
        page.get_by_label("Reason").select_option("security_research")
        page.get_by_label("Justification").fill("Traffic analysis in the lab.")
        page.get_by_label("Mitigations the holders must apply (one a line)").fill("lab only")
        page.get_by_label("Last day (the waiver ends at 23:59 UTC that day)").fill("2099-01-01")
        visit.expected_statuses.add(422)  # the refusal page
        page.get_by_role("button", name="Request the waiver").click()
        expect(page.get_by_role("alert")).to_contain_text("A waiver lasts at most 365 days.")
        visit.check("waiver-refused")
        page.get_by_role("link", name="Français").click()
        visit.open(f"/determinations/{number}", "determination-waivers-fr")
        future = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
        page.get_by_label("Appareils (identifiants, un par ligne)").fill(device)
        page.get_by_label("Raison").select_option("security_research")
        page.get_by_label("Justification").fill("Analyse du trafic au laboratoire.")
        page.get_by_label("Mesures d’atténuation que les titulaires doivent appliquer "
                          "(une par ligne)").fill("laboratoire seulement")  # fmt: skip
        page.get_by_label("Dernier jour (la dérogation prend fin à 23 h 59 UTC ce jour-là)").fill(
            future
        )
        page.get_by_role("button", name="Demander la dérogation").click()
        expect(page.get_by_role("status")).to_contain_text("Dérogation demandée")
        expect(page.locator(".waiver h3").first).to_contain_text("demandée")
        visit.check("waiver-requested-fr")
