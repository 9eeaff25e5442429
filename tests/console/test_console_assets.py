"""Assets the console serves itself; a server without them still starts and says so."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from appwarden import console
from appwarden.console import assets
from appwarden.console.rendering import TEMPLATES
from tests.console.support import HTML
from tests.server import Env, running_env


def test_templates_load_nothing_from_elsewhere() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        for url in re.findall(r'(?:src|href)="([^"]*)"', text):
            assert url.startswith(("/", "#", "{{")), f"{template.name}: {url}"
        assert "//" not in re.sub(r"<!--.*?-->", "", text).replace("://", ""), template.name


def test_missing_vendor_folder_is_a_warning_not_a_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="appwarden.console"):
        found = assets.find_assets(tmp_path / "no-vendor")
    assert found.available == frozenset() and "htmx.min.js" in found.missing
    assert "make vendor" in caplog.text


def test_pages_say_when_scripts_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _sqlite_template: Path
) -> None:
    monkeypatch.setattr(console, "find_assets", lambda: assets.find_assets(tmp_path / "none"))
    database = tmp_path / "appwarden.db"
    database.write_bytes(_sqlite_template.read_bytes())
    with running_env(f"sqlite:///{database}", tmp_path / "data") as env:
        page = env.client.get("/sign-in", headers=HTML)
    assert page.status_code == 200
    assert "This server is missing its browser scripts" in page.text and "<script" not in page.text


def test_console_pages_carry_security_headers(page_env: Env) -> None:
    page = page_env.client.get("/sign-in", headers=HTML)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert page_env.client.get("/static/console.css").status_code == 200
    assert page_env.client.get("/static/../config.py").status_code == 404
