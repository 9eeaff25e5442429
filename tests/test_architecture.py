"""Imports flow one way: the pure cores (vetting/, policy/) import nothing of the rest."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "appwarden"
ALLOWED = {"vetting": {"appwarden.vetting", "appwarden"}, "policy": {"appwarden.policy"}}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("appwarden")}


@pytest.mark.parametrize("core", sorted(ALLOWED))
def test_pure_core_imports_only_itself(core: str) -> None:
    for path in sorted((SRC / core).rglob("*.py")):
        for name in _imports(path):
            allowed = name == "appwarden" or any(
                name == prefix or name.startswith(prefix + ".")
                for prefix in ALLOWED[core] - {"appwarden"}
            )
            assert allowed, f"{path.relative_to(SRC)} imports {name}"


def test_console_goes_through_services() -> None:
    """The console renders what services return: it imports no REST views, device
    protocol or command line, and builds no engine of its own."""
    for path in sorted((SRC / "console").rglob("*.py")):
        for name in _imports(path):
            assert not name.endswith(".views"), f"{path.relative_to(SRC)} imports {name}"
            assert not name.startswith(("appwarden.protocol", "appwarden.cli")), name
            assert name != "appwarden.db", f"{path.relative_to(SRC)} imports {name}"
