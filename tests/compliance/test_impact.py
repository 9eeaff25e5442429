"""Impact preview: devices in scope holding the target now, by group and department."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from appwarden.cli import acting
from appwarden.cli.main import app
from tests.compliance.support import APP_TARGET, TIKTOK, Phone, compliance
from tests.decisions.support import actors, ok, reach, seed_catalog
from tests.server import Env


def test_impact_by_group_and_department_before_approval(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    holder = Phone(env, who, department="Finance")
    clean = Phone(env, who, department="Legal")
    silent = Phone(env, who)
    outside = Phone(env, who, "Staff", department="Finance")
    ok(holder.report({TIKTOK: None, "org.notes": None}))
    ok(clean.report({"org.notes": None}))
    ok(outside.report({TIKTOK: None}))
    assert silent.id
    number = reach(env, who, catalog, "proposed", target=APP_TARGET)
    impact = compliance(env, who.aude, f"/determinations/{number}/impact")
    assert (impact["in_scope"], impact["reported"], impact["holding"]) == (3, 2, 1)
    assert impact["by_group"] == [{"name": "government-issued", "in_scope": 3, "holding": 1}]
    assert impact["by_department"] == [
        {"name": "(none)", "in_scope": 1, "holding": 0},
        {"name": "Finance", "in_scope": 1, "holding": 1},
        {"name": "Legal", "in_scope": 1, "holding": 0},
    ]
    publisher = reach(env, who, catalog, "draft")  # ByteDance and affiliates: TikTok
    assert compliance(env, who.aude, f"/determinations/{publisher}/impact")["holding"] == 1


def test_impact_from_the_command_line(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    who, catalog = actors(env), seed_catalog(env)
    holder = Phone(env, who, department="Finance")
    ok(holder.report({TIKTOK: None}))
    number = reach(env, who, catalog, "proposed", target=APP_TARGET)
    monkeypatch.setenv("APPWARDEN_DATABASE_URL", env.settings.database)
    monkeypatch.setenv("APPWARDEN_AUDIT_KEY", "test-audit-key")
    monkeypatch.setattr(acting, "SystemClock", lambda: env.clock)
    args = ["determinations", "impact", str(number)]
    result = CliRunner().invoke(app, args, env={"APPWARDEN_TOKEN": who.aude})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "1 of 1 devices in scope hold the target" in result.stdout
    assert "Finance" in result.stdout
    as_json = CliRunner().invoke(app, [*args, "--json"], env={"APPWARDEN_TOKEN": who.aude})
    assert json.loads(as_json.stdout)["holding"] == 1
    refused = CliRunner().invoke(app, args, env={"APPWARDEN_TOKEN": "nonsense"})
    assert refused.exit_code == 1
