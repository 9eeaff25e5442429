"""``appwarden vet`` and ``appwarden trackers`` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from appwarden.cli.main import app
from tests.conftest import APPS, EXODUS_SNAPSHOT, require

runner = CliRunner()


def _folder_with_bad_inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "apps"
    folder.mkdir()
    shutil.copy(require(APPS / "urzip-release.apk"), folder / "good.apk")
    shutil.copy(require(APPS / "helloworld.ipa"), folder / "good.ipa")
    (folder / "empty.apk").write_bytes(b"")
    (folder / "text.apk").write_text("not a zip")
    data = (APPS / "diva.apk").read_bytes()
    (folder / "truncated.apk").write_bytes(data[: len(data) // 2])
    with zipfile.ZipFile(folder / "traversal.apk", "w") as archive:
        archive.writestr("../../evil.txt", b"x")
    (folder / "notes.txt").write_text("ignored: not an app file")
    return folder


def test_folder_run_goes_on_past_bad_input(tmp_path: Path) -> None:
    folder = _folder_with_bad_inputs(tmp_path)
    result = runner.invoke(app, ["vet", str(folder), "--format", "json", "--jobs", "2"])
    assert result.exit_code == 2
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(doc["file"]["name"] for doc in lines) == ["good.apk", "good.ipa"]
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 4
    assert all(line.startswith("appwarden: error: ") for line in errors)
    joined = "\n".join(errors)
    for expected in ("empty.apk", "text.apk", "truncated.apk", "traversal.apk"):
        assert expected in joined
    assert "Traceback" not in result.output
    assert not (tmp_path / "evil.txt").exists()


def test_json_schema_fields(tmp_path: Path) -> None:
    result = runner.invoke(app, ["vet", str(require(APPS / "instapaper.apk")), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == "1.0"
    assert doc["app"]["platform"] == "android"
    for key in ("id", "version_code", "version_name"):
        assert doc["app"][key]
    assert len(doc["file"]["sha256"]) == 64
    assert all(len(s["sha256"]) == 64 for s in doc["signers"])
    assert all({"name", "protection"} <= set(p) for p in doc["permissions"])
    assert all({"name", "evidence", "matched_by"} <= set(t) for t in doc["trackers"])
    assert doc["findings"] and {"total", "grade"} <= set(doc["score"])
    assert doc["verdict"] in ("pass", "warn", "fail")


def test_fail_on_sets_exit_status() -> None:
    path = str(require(APPS / "diva.apk"))
    assert runner.invoke(app, ["vet", path, "--fail-at", "5", "--warn-at", "1"]).exit_code == 0
    failing = runner.invoke(
        app, ["vet", path, "--fail-at", "5", "--warn-at", "1", "--fail-on", "fail"]
    )
    assert failing.exit_code == 1
    assert runner.invoke(app, ["vet", path, "--fail-at", "100", "--fail-on", "fail"]).exit_code == 0


def test_out_writes_reports_and_index_only_inside_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    folder = _folder_with_bad_inputs(tmp_path)
    result = runner.invoke(app, ["vet", str(folder), "--format", "html", "--out", str(out)])
    assert result.exit_code == 2
    written = sorted(p.name for p in out.iterdir())
    assert written == ["good-2.html", "good.html", "index.html"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "good.html" in index and "good-2.html" in index
    assert "Files that could not be vetted" in index
    for name in ("empty.apk", "text.apk", "truncated.apk", "traversal.apk"):
        assert name in index
    outside = {p.name for p in tmp_path.iterdir()}
    assert outside == {"out", "apps"}


@pytest.mark.parametrize(("fmt", "suffix"), [("md", ".md"), ("json", ".json"), ("text", ".txt")])
def test_out_formats(tmp_path: Path, fmt: str, suffix: str) -> None:
    result = runner.invoke(
        app, ["vet", str(require(APPS / "diva.apk")), "--format", fmt, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    report = tmp_path / f"diva{suffix}"
    assert "jakhar.aseem.diva" in report.read_text(encoding="utf-8")


def test_html_to_stdout_needs_out_for_several_inputs() -> None:
    path = str(require(APPS / "diva.apk"))
    result = runner.invoke(app, ["vet", path, path, "--format", "html"])
    assert result.exit_code == 2
    assert "--out" in result.stderr


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["vet", str(tmp_path / "nope.apk")])
    assert result.exit_code == 2 and "no such file" in result.stderr
    result = runner.invoke(app, ["vet", str(tmp_path)])
    assert result.exit_code == 2 and "no .apk" in result.stderr


def test_trackers_import_list_and_override(tmp_path: Path) -> None:
    snapshot = str(require(EXODUS_SNAPSHOT))
    before = runner.invoke(app, ["trackers", "list"])
    assert before.exit_code == 0 and "curated" in before.stdout
    imported = runner.invoke(app, ["trackers", "import", snapshot, "--name", "exodus"])
    assert imported.exit_code == 0, imported.output
    assert "imported 433 trackers" in imported.stdout
    after = runner.invoke(app, ["trackers", "list"])
    assert "exodus" in after.stdout and after.stdout != before.stdout

    instapaper = str(require(APPS / "instapaper.apk"))
    only_snapshot = runner.invoke(
        app, ["vet", instapaper, "--format", "json", "--trackers", snapshot]
    )
    names = {t["name"] for t in json.loads(only_snapshot.stdout)["trackers"]}
    assert "Google CrashLytics" in names
    assert "Google Firebase Crashlytics" not in names  # the curated name: replaced, not added


def test_bad_tracker_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ nope")
    result = runner.invoke(app, ["trackers", "import", str(bad)])
    assert result.exit_code == 2 and "not JSON" in result.stderr
    result = runner.invoke(app, ["vet", str(require(APPS / "diva.apk")), "--trackers", str(bad)])
    assert result.exit_code == 2 and "not JSON" in result.stderr


def test_console_script_runs_as_installed(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("appwarden")
    completed = subprocess.run(
        [str(script), "vet", str(require(APPS / "hello-world.apk")), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["app"]["id"] == "de.rhab.helloworld"
