"""Helpers for catalog tests: uploads, row counts, files on disk, problem documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from appwarden.catalog.models import App, Assessment, Blob, Publisher, Signer, app_signers
from appwarden.config import Settings
from tests.conftest import APPS, require
from tests.server import Env, audited_changes

API = "/api/v1"
#: A small signed APK, an unsigned build of the same app, and a small signed IPA.
URZIP = "urzip-release.apk"
URZIP_UNSIGNED = "urzip-release-unsigned.apk"
IPA = "helloworld.ipa"
SMALL_LIMIT = 10_000


def fixture_app(name: str) -> Path:
    return require(APPS / name)


def upload(
    env: Env,
    token: str,
    content: bytes,
    name: str,
    *,
    publisher_id: int | None = None,
    key: str | None = None,
) -> httpx.Response:
    headers = env.headers(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    data = {"publisher_id": str(publisher_id)} if publisher_id is not None else None
    files = {"file": (name, content, "application/octet-stream")}
    return env.client.post(f"{API}/apps/upload", files=files, data=data, headers=headers)


def upload_fixture(env: Env, token: str, name: str, **options: Any) -> httpx.Response:
    return upload(env, token, fixture_app(name).read_bytes(), name, **options)


def counts(env: Env) -> dict[str, int]:
    """Rows in every catalog table and in the audit log."""
    tables: dict[str, Any] = {
        "publishers": Publisher,
        "apps": App,
        "assessments": Assessment,
        "blobs": Blob,
        "signers": Signer,
        "app_signers": app_signers,
    }
    with env.session() as session:
        found = {
            name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in tables.items()
        }
        return found | {"audit_events": audited_changes(session)}


def stored_files(settings: Settings) -> list[Path]:
    """Every file under the blob store, staging area included."""
    root = settings.blobs_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_problem(
    response: httpx.Response, status: int, kind: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    if kind is not None:
        assert body["type"] == f"urn:appwarden:problem:{kind}", body
    return body
