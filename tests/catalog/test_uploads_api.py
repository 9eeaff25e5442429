"""Uploading real APKs and IPAs: the assessment, app, signers and file are recorded once."""

from __future__ import annotations

from appwarden.auth.roles import Role
from appwarden.vetting.model import Assessment as Document
from tests.catalog.helpers import (
    API,
    IPA,
    URZIP,
    URZIP_UNSIGNED,
    assert_problem,
    counts,
    fixture_app,
    stored_files,
    upload_fixture,
)
from tests.server import Env


def test_upload_apk_records_app_signer_assessment_and_file(env: Env, analyst: str) -> None:
    response = upload_fixture(env, analyst, URZIP)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["app"]["platform"] == "android"
    assert body["app"]["app_id"] == "info.guardianproject.urzip"
    assert body["app_created"] is True and body["blob_new"] is True
    sha = body["blob"]["sha256"]
    assert body["assessment"]["blob_sha256"] == sha
    assert body["assessment"]["uploaded_by"] == "ana"
    assert len(body["signers"]) == 1

    app = env.client.get(f"{API}/apps/{body['app']['id']}", headers=env.headers(analyst)).json()
    assert app["latest_assessment"]["id"] == body["assessment"]["id"]
    assert [s["sha256"] for s in app["signers"]] == [body["signers"][0]["sha256"]]
    assert app["assessment_count"] == 1

    document = env.client.get(
        f"{API}/assessments/{body['assessment']['id']}", headers=env.headers(analyst)
    )
    assert document.status_code == 200
    parsed = Document.model_validate(document.json())
    assert parsed.file.sha256 == sha and parsed.file.name == URZIP
    assert parsed.verdict == body["assessment"]["verdict"]
    assert parsed.score.total == body["assessment"]["score_total"]

    stored = env.settings.blobs_dir / sha[:2] / sha
    assert stored.read_bytes() == fixture_app(URZIP).read_bytes()
    assert env.audit_ok().ok


def test_upload_ipa(env: Env, analyst: str) -> None:
    response = upload_fixture(env, analyst, IPA)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["app"]["platform"] == "ios"
    assert body["app"]["app_id"] == "com.kthcorp.helloworld"
    assert body["blob"]["kind"] == "ipa"
    assert len(body["signers"]) == 1
    report = env.client.get(
        f"{API}/assessments/{body['assessment']['id']}/report.html",
        headers=env.headers(analyst),
    )
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in report.headers["content-security-policy"]
    assert report.headers["x-content-type-options"] == "nosniff"
    assert "com.kthcorp.helloworld" in report.text


def test_same_file_twice_is_stored_once(env: Env, analyst: str) -> None:
    first = upload_fixture(env, analyst, URZIP).json()
    second_response = upload_fixture(env, analyst, URZIP)
    assert second_response.status_code == 201
    second = second_response.json()
    assert second["blob_new"] is False and second["app_created"] is False
    assert second["app"]["id"] == first["app"]["id"]
    assert second["assessment"]["id"] != first["assessment"]["id"]
    assert stored_files(env.settings) == [
        env.settings.blobs_dir / first["blob"]["sha256"][:2] / first["blob"]["sha256"]
    ]
    rows = counts(env)
    assert rows["blobs"] == 1 and rows["assessments"] == 2 and rows["apps"] == 1
    assert rows["signers"] == 1 and rows["app_signers"] == 1
    listed = env.client.get(
        f"{API}/apps/{first['app']['id']}/assessments", headers=env.headers(analyst)
    ).json()
    assert listed["total"] == 2
    assert listed["items"][0]["id"] == second["assessment"]["id"]  # newest first


def test_another_build_of_the_same_app_links_to_it(env: Env, analyst: str) -> None:
    signed = upload_fixture(env, analyst, URZIP).json()
    unsigned = upload_fixture(env, analyst, URZIP_UNSIGNED).json()
    assert unsigned["app"]["id"] == signed["app"]["id"] and not unsigned["app_created"]
    assert unsigned["blob"]["sha256"] != signed["blob"]["sha256"]
    assert unsigned["signers"] == []
    assert len(stored_files(env.settings)) == 2
    app = env.client.get(f"{API}/apps/{signed['app']['id']}", headers=env.headers(analyst))
    assert len(app.json()["signers"]) == 1  # the signer seen before stays linked


def test_upload_links_the_publisher(env: Env, analyst: str) -> None:
    publisher = env.client.post(
        f"{API}/publishers",
        json={"name": "Guardian Project", "jurisdiction": "US"},
        headers=env.headers(analyst),
    ).json()
    body = upload_fixture(env, analyst, URZIP, publisher_id=publisher["id"]).json()
    assert body["app"]["publisher_id"] == publisher["id"]
    app = env.client.get(f"{API}/apps/{body['app']['id']}", headers=env.headers(analyst)).json()
    assert app["publisher"] == {"id": publisher["id"], "name": "Guardian Project"}


def test_auditor_cannot_upload_but_can_read(env: Env, analyst: str, auditor: str) -> None:
    before = counts(env)
    denied = upload_fixture(env, auditor, URZIP)
    assert_problem(denied, 403, "forbidden")
    assert counts(env) == before and stored_files(env.settings) == []
    body = upload_fixture(env, analyst, URZIP).json()
    read = env.client.get(f"{API}/apps/{body['app']['id']}", headers=env.headers(auditor))
    assert read.status_code == 200


def test_operator_cannot_create_publishers(env: Env) -> None:
    operator = env.user("op", Role.operator)
    denied = env.client.post(
        f"{API}/publishers", json={"name": "X", "jurisdiction": "CN"}, headers=env.headers(operator)
    )
    assert_problem(denied, 403, "forbidden")
    assert env.client.post(f"{API}/apps/upload").status_code == 401
