"""The disk full: an upload that does not fit, and SQLite writes on a full disk.

The data folder (or the blob store in it) is a real tmpfs of a few MiB, filled up; the
writes fail with ENOSPC from the kernel. Checked: a 507 problem document that says so,
nothing half-written (no rows, no audit event, no staging file), the server keeps
serving, and once space is freed the same request succeeds; the audit chain verifies.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, select

from appwarden.auth.roles import Role
from appwarden.fleet.models import DeviceGroup
from tests.catalog.helpers import (
    API,
    URZIP,
    assert_problem,
    counts,
    stored_files,
    upload_fixture,
)
from tests.faults.disks import fill, free_bytes, small_disk
from tests.server import Env, running_env

#: 826 KB: does not fit in the room left on the small disk; URZIP (11 KB) does.
LARGE = "a2dp.Vol_137.apk"


def test_an_upload_to_a_full_disk_is_507_and_leaves_nothing(env: Env) -> None:
    analyst = env.user("ana", Role.analyst)
    with small_disk(env.settings.blobs_dir, "2m") as blobs:
        filler = fill(blobs, leave=200_000)
        before = counts(env)
        body = assert_problem(upload_fixture(env, analyst, LARGE), 507, "storage-full")
        assert body["detail"].startswith(f"{LARGE}: the server's storage is full")
        assert counts(env) == before
        assert stored_files(env.settings) == [filler], "a half-written file was left"

        # The server keeps serving, uploads that fit included.
        assert env.client.get("/healthz").status_code == 200
        assert upload_fixture(env, analyst, URZIP).status_code == 201
        filler.unlink()
        stored = upload_fixture(env, analyst, LARGE)
        assert stored.status_code == 201, stored.text
        sha = stored.json()["blob"]["sha256"]
        assert (blobs / sha[:2] / sha).stat().st_size == stored.json()["blob"]["size"]
        assert not list((blobs / ".staging").iterdir())
    assert env.audit_ok().ok


def test_a_full_disk_under_sqlite_refuses_writes_with_507_and_keeps_serving(
    tmp_path: Path, _sqlite_template: Path
) -> None:
    with small_disk(tmp_path / "disk", "6m") as disk:
        shutil.copy(_sqlite_template, disk / "appwarden.db")
        with running_env(f"sqlite:///{disk / 'appwarden.db'}", disk / "data") as env:
            operator = env.headers(env.user("olu", Role.operator))
            filler = fill(disk, leave=0)
            answers = []
            for number in range(200):  # until the database needs a page the disk lacks
                body = {"name": f"group-{number}", "description": "x" * 2000}
                answer = env.client.post(f"{API}/groups", json=body, headers=operator)
                answers.append(answer)
                if answer.status_code != 201:
                    break
            refused = answers[-1]
            problem = assert_problem(refused, 507, "storage-full")
            assert "storage is full" in problem["detail"]
            created = len(answers) - 1

            # Reads still work while the disk is full.
            assert env.client.get("/healthz").status_code == 200
            listed = env.client.get(f"{API}/groups", headers=operator)
            assert listed.status_code == 200 and listed.json()["total"] == created

            filler.unlink()
            assert free_bytes(disk) > 1_000_000
            again = env.client.post(
                f"{API}/groups", json={"name": f"group-{created}"}, headers=operator
            )
            assert again.status_code == 201, again.text
            with env.session() as session:
                groups = session.scalar(select(func.count()).select_from(DeviceGroup))
            assert groups == created + 1  # the refused one was not half-recorded
            verified = env.audit_ok()
            assert verified.ok
            print(f"[sqlite disk full] {created} groups created, then 507; {verified.count} events")
