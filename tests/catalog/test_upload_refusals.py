"""Refused uploads: a clear 4xx problem document, and nothing half-written.

"Nothing" means: no new row in any catalog table, no audit event, no file under the
blob store (its staging area included).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appwarden.catalog import uploads
from tests.catalog.helpers import (
    API,
    SMALL_LIMIT,
    URZIP,
    assert_problem,
    counts,
    fixture_app,
    stored_files,
    upload,
    upload_fixture,
)
from tests.server import Env


def assert_nothing_behind(env: Env, before: dict[str, int]) -> None:
    assert counts(env) == before
    assert stored_files(env.settings) == []


def test_a_text_file_is_not_an_app(env: Env, analyst: str) -> None:
    before = counts(env)
    body = assert_problem(upload(env, analyst, b"hello", "notes.txt"), 422, "invalid")
    assert "not an app file" in body["detail"]
    assert_nothing_behind(env, before)


def test_an_apk_that_is_not_a_zip(env: Env, analyst: str) -> None:
    before = counts(env)
    response = upload(env, analyst, b"this is not a zip archive" * 100, "fake.apk")
    body = assert_problem(response, 422, "invalid")
    assert "fake.apk" in body["detail"] and body["code"]
    assert_nothing_behind(env, before)


def test_a_truncated_apk(env: Env, analyst: str) -> None:
    before = counts(env)
    data = fixture_app(URZIP).read_bytes()
    response = upload(env, analyst, data[: len(data) // 2], "urzip-truncated.apk")
    assert_problem(response, 422, "invalid")
    assert_nothing_behind(env, before)


def test_an_ipa_that_is_an_apk(env: Env, analyst: str) -> None:
    before = counts(env)
    response = upload(env, analyst, fixture_app(URZIP).read_bytes(), "disguised.ipa")
    assert_problem(response, 422, "invalid")
    assert_nothing_behind(env, before)


def test_unknown_publisher_is_404(env: Env, analyst: str) -> None:
    before = counts(env)
    assert_problem(upload_fixture(env, analyst, URZIP, publisher_id=999), 404, "not-found")
    assert_nothing_behind(env, before)


def test_malformed_form(env: Env, analyst: str) -> None:
    before = counts(env)
    no_file = env.client.post(
        f"{API}/apps/upload", data={"publisher_id": "1"}, headers=env.headers(analyst)
    )
    assert_problem(no_file, 422, "invalid")
    bad_id = upload_fixture(env, analyst, URZIP, publisher_id="one")  # type: ignore[arg-type]
    assert_problem(bad_id, 422, "invalid")
    assert_nothing_behind(env, before)


def test_a_file_over_the_limit_is_413(capped: Env) -> None:
    """Just over the limit: within the form allowance, so the handler's count refuses it."""
    from appwarden.auth.roles import Role

    token = capped.user("ana", Role.analyst)
    before = counts(capped)
    data = fixture_app(URZIP).read_bytes()
    assert SMALL_LIMIT < len(data)
    body = assert_problem(upload(capped, token, data, URZIP), 413, "too-large")
    assert str(SMALL_LIMIT) in body["detail"]
    assert_nothing_behind(capped, before)
    small = upload(capped, token, data[:SMALL_LIMIT], "cut.apk")
    assert small.status_code == 422  # under the limit: vetted (and refused as truncated)


def test_a_body_far_over_the_limit_is_refused_before_parsing(capped: Env) -> None:
    from appwarden.auth.roles import Role

    token = capped.user("ana", Role.analyst)
    before = counts(capped)
    big = b"\0" * (SMALL_LIMIT + 200_000)
    early = assert_problem(upload(capped, token, big, "big.apk"), 413, "too-large")
    assert "request body" in early["detail"]  # refused by the route, not the handler

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.apk"\r\n\r\n'
        for _ in range(20):
            yield b"\0" * 10_000
        yield b"\r\n--b--\r\n"

    headers = {**capped.headers(token), "Content-Type": "multipart/form-data; boundary=b"}
    chunked = capped.client.post(f"{API}/apps/upload", content=chunks(), headers=headers)
    assert "request body" in assert_problem(chunked, 413, "too-large")["detail"]
    assert_nothing_behind(capped, before)


def test_a_failure_after_the_file_was_stored_removes_it(
    env: Env, analyst: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is written before the transaction commits; if it then rolls back, the
    file goes too."""
    before = counts(env)
    record = uploads.record
    seen: list[list[Path]] = []

    def failing_last(*args: Any, **kwargs: Any) -> None:
        if kwargs["action"] == "app.upload":  # the last step, after the file is stored
            seen.append(stored_files(env.settings))
            raise RuntimeError("the database went away")
        record(*args, **kwargs)

    monkeypatch.setattr(uploads, "record", failing_last)
    with pytest.raises(RuntimeError):
        upload_fixture(env, analyst, URZIP)
    assert len(seen) == 1 and len(seen[0]) == 1  # the file was there...
    assert_nothing_behind(env, before)  # ...and is gone, with every row


def test_idempotency_key_retry_has_one_effect(env: Env, analyst: str) -> None:
    first = upload_fixture(env, analyst, URZIP, key="upload-1")
    assert first.status_code == 201
    after_first = counts(env)
    retry = upload_fixture(env, analyst, URZIP, key="upload-1")
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers.get("Idempotent-Replay") == "true"
    assert counts(env) == after_first
    other = upload(env, analyst, fixture_app(URZIP).read_bytes()[:-1], URZIP, key="upload-1")
    assert_problem(other, 422, "invalid")
    assert counts(env) == after_first
    assert env.audit_ok().ok
