"""Refresh the README's screenshots: run the browser test of the whole flow (upload, ban,
50 simulated devices reaching 100 %, audit), then copy what it saved of the dashboard and
the assessment report from ``out/screenshots/`` to ``docs/images/``.

    .venv/bin/python tools/screenshots.py

Needs what the browser tests need (Chromium at /usr/bin/chromium, ``make vendor``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "out" / "screenshots"
IMAGES = ROOT / "docs" / "images"
TEST = (
    "tests/console/test_console_flow_browser.py"
    "::test_upload_propose_approve_fleet_complies_auditor_verifies"
)
WANTED = {"readme-dashboard.png": "dashboard.png", "readme-assessment.png": "assessment.png"}


def main() -> int:
    for name in WANTED:
        (SHOTS / name).unlink(missing_ok=True)
    run = subprocess.run(  # noqa: S603 - our own test, by a fixed path
        [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:randomly"], cwd=ROOT, check=False
    )
    if run.returncode != 0:
        print("the flow's browser test failed: no screenshot copied", file=sys.stderr)
        return 1
    IMAGES.mkdir(parents=True, exist_ok=True)
    for source, target in WANTED.items():
        shutil.copyfile(SHOTS / source, IMAGES / target)
        print(f"docs/images/{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
