"""docs/decisions.md lists exactly the determinations and waivers routes the app serves."""

from __future__ import annotations

import re
from pathlib import Path

from appwarden.app import create_app
from appwarden.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "decisions.md"
_ROW = re.compile(r"^\| `(GET|POST|PATCH|PUT|DELETE) (/[^`?]*)[`?]")


def test_the_api_table_is_the_api(tmp_path: Path) -> None:
    schema = create_app(Settings(data_dir=tmp_path, audit_key="k")).openapi()
    served = {
        (method.upper(), re.sub(r"\{[a-z_]+\}", "{id}", path.removeprefix("/api/v1")))
        for path, item in schema["paths"].items()
        for method in item
        if path.startswith(("/api/v1/determinations", "/api/v1/waivers"))
    }
    documented = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            documented.add((match[1], match[2]))
    assert served == documented
