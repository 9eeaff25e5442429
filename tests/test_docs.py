"""The docs say what the code does: settings, rules and the JSON schema stay in step."""

from __future__ import annotations

import json
from pathlib import Path

from appwarden.config import Settings
from appwarden.vetting.model import json_schema
from appwarden.vetting.rules import load_rules

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`APPWARDEN_{name.upper()}`" in text, name


def test_every_rule_is_documented_with_its_weight() -> None:
    text = (DOCS / "scoring.md").read_text(encoding="utf-8")
    rules = load_rules()
    for rule in rules.rules:
        assert f"| {rule.id} | {rule.severity} | {rule.weight} |" in text, rule.id
    for category, cap in rules.caps.items():
        assert f"| {category} | {cap} |" in text


def test_published_schema_is_current() -> None:
    published = json.loads((DOCS / "assessment.schema.json").read_text(encoding="utf-8"))
    assert published == json_schema(), "run: appwarden schema > docs/assessment.schema.json"


def test_schema_required_fields_documented() -> None:
    text = (DOCS / "assessment-schema.md").read_text(encoding="utf-8")
    for field in (
        "schema_version",
        "app.platform",
        "app.id",
        "file.sha256",
        "signers[]",
        "permissions[]",
        "trackers[]",
        "findings[]",
        "score.total",
        "score.grade",
        "verdict",
    ):
        assert f"`{field}" in text, field
