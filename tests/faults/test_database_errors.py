"""How database failures that are not the request's fault are answered: a lost or refused
connection is 503 with Retry-After (the client tries again), a full disk 507, and any other
database error stays a 500 (a bug to fix, never hidden as "try again")."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from appwarden.app import create_app
from appwarden.config import Settings
from appwarden.db import database_trouble


def _raising(error: Exception, tmp_path: Path) -> TestClient:
    settings = Settings(data_dir=tmp_path, audit_key="k")
    app = create_app(settings)

    def fail() -> None:
        raise error

    app.add_api_route("/boom", fail)
    return TestClient(app, raise_server_exceptions=False)


def test_a_lost_connection_is_503_with_retry_after(tmp_path: Path) -> None:
    lost = psycopg.OperationalError("server closed the connection unexpectedly")
    client = _raising(OperationalError("SELECT 1", {}, lost), tmp_path)
    answer = client.get("/boom")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert answer.json()["type"] == "urn:appwarden:problem:database-unavailable"
    assert "nothing was recorded" in answer.json()["detail"]


def test_a_full_sqlite_database_is_507(tmp_path: Path) -> None:
    full = sqlite3.OperationalError("database or disk is full")
    answer = _raising(OperationalError("INSERT", {}, full), tmp_path).get("/boom")
    assert answer.status_code == 507
    assert answer.json()["type"] == "urn:appwarden:problem:storage-full"


def test_a_constraint_violation_stays_a_500(tmp_path: Path) -> None:
    clash = sqlite3.IntegrityError("UNIQUE constraint failed: groups.name")
    answer = _raising(IntegrityError("INSERT", {}, clash), tmp_path).get("/boom")
    assert answer.status_code == 500


@pytest.mark.parametrize(
    ("error", "trouble"),
    [
        (OperationalError("x", {}, sqlite3.OperationalError("database is locked")), "unavailable"),
        (OperationalError("x", {}, psycopg.errors.DiskFull("no space left")), "full"),
        (DBAPIError("x", {}, Exception("gone"), connection_invalidated=True), "unavailable"),
        (IntegrityError("x", {}, sqlite3.IntegrityError("no")), None),
    ],
)
def test_what_each_failure_is(error: DBAPIError, trouble: str | None) -> None:
    assert database_trouble(error) == trouble
