"""The OpenAPI document declares every route's errors, and every route its access."""

from __future__ import annotations

import re
from pathlib import Path

from appwarden.app import create_app
from appwarden.config import Settings

METHODS = {"get", "post", "put", "patch", "delete"}


def _document(tmp_path: Path) -> dict[str, object]:
    settings = Settings(data_dir=tmp_path, audit_key="k")
    schema: dict[str, object] = create_app(settings).openapi()
    return schema


def test_every_operation_declares_its_access_and_errors(tmp_path: Path) -> None:
    paths = _document(tmp_path)["paths"]
    assert isinstance(paths, dict)
    checked = 0
    for path, item in paths.items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            public = operation.get("x-public") is True
            device = operation.get("x-device") is True
            # Device routes (the device protocol under /v1/) are signed by the device, not
            # guarded by a user permission; nothing else may be one, and they only that.
            assert device == path.startswith("/v1/"), f"{where}: x-device iff under /v1/"
            if device:
                assert not public and "x-permission" not in operation, f"{where}: mixed access"
                assert "401" in responses, f"{where}: 401 not declared"
            else:
                assert public or "x-permission" in operation, f"{where}: no declared permission"
            if not public and not device:
                assert {"401", "403"} <= set(responses), f"{where}: 401/403 not declared"
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in responses, f"{where}: 422 not declared"
            if re.search(r"\{[a-z_]*id\}", path):
                assert "404" in responses, f"{where}: 404 not declared"
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    assert "application/problem+json" in response.get("content", {}), (
                        f"{where}: {status} is not a problem document"
                    )
            checked += 1
    assert checked >= 5
