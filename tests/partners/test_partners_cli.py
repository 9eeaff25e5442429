"""``appwarden partners``: import, export and compare as a signed-in user, on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from appwarden.cli import acting
from appwarden.cli.main import app
from appwarden.partners.parse import parse
from tests.decisions.support import actors, counts, reach, stored_status
from tests.partners.support import csv_list, seed
from tests.partners.test_format import example
from tests.server import Env

TIKTOK = "com.zhiliaoapp.musically,android,,ban,TikTok"
WECHAT = "com.tencent.mm,,,monitor,WeChat"


@pytest.fixture
def cli(env: Env, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("APPWARDEN_DATABASE_URL", env.settings.database)
    monkeypatch.setenv("APPWARDEN_AUDIT_KEY", "test-audit-key")
    monkeypatch.setattr(acting, "SystemClock", lambda: env.clock)
    return CliRunner()


def run(cli: CliRunner, token: str, *args: str, code: int = 0) -> tuple[str, str]:
    result = cli.invoke(app, ["partners", *args], env={"APPWARDEN_TOKEN": token})
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout, result.stderr


def test_import_then_compare_then_export(env: Env, cli: CliRunner, tmp_path: Path) -> None:
    who, _catalog = actors(env), seed(env)
    listed = tmp_path / "canada.csv"
    listed.write_bytes(csv_list(TIKTOK, WECHAT, "org.unknown,ios,,ban,Unknown"))
    out, err = run(cli, who.ana, "import", str(listed), "--scope", "government-issued")
    lines = out.splitlines()
    assert lines[0] == "proposed\tapp com.zhiliaoapp.musically (android) determination 1"
    assert lines[1].startswith("draft\tapp com.tencent.mm (both platforms) determination 2")
    assert lines[2] == "unmatched\tapp org.unknown (ios) (no app with this id in the catalog)"
    assert err == "imported CA's list: 1 proposed, 1 draft, 0 existing, 1 unmatched\n"
    assert stored_status(env, 1) == "proposed"

    table, _ = run(cli, who.aude, "compare", str(listed), "--pending")
    assert "Statement on TikTok" in table
    assert "only theirs" in table and "org.unknown" in table
    assert "2 in both (0 with another action), 0 only ours, 1 only theirs" in " ".join(
        table.split()
    )
    in_force_only, _ = run(cli, who.aude, "compare", str(listed))
    assert "0 in both (0 with another action), 0 only ours, 3 only theirs" in " ".join(
        in_force_only.split()
    )

    target = tmp_path / "ours.json"
    _, err = run(cli, who.aude, "export", "--jurisdiction", "GB", "--pending",
                 "--out", str(target))  # fmt: skip
    assert err.startswith(f"wrote {target}")
    exported = parse(target.read_bytes(), max_bytes=1 << 20)
    assert [t.value for t in exported.targets] == ["com.zhiliaoapp.musically", "com.tencent.mm"]
    csv_out, _ = run(cli, who.aude, "export", "--jurisdiction", "GB", "--format", "csv")
    assert csv_out.startswith("jurisdiction,source_title,source_url,date,app_id")


def test_bad_files_are_one_line_and_import_nothing(
    env: Env, cli: CliRunner, tmp_path: Path
) -> None:
    who, _catalog = actors(env), seed(env)
    before = counts(env)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_list(TIKTOK, TIKTOK))
    _, err = run(cli, who.ana, "import", str(bad), code=1)
    assert err == (
        "appwarden: error: line 3: app com.zhiliaoapp.musically (android) repeats the target "
        "of line 2\n"
    )
    big = tmp_path / "big.json"
    with big.open("wb") as stream:
        stream.truncate(50 * 1024 * 1024)  # 50 MB, never read
    _, err = run(cli, who.ana, "import", str(big), code=1)
    assert "larger than 5242880 bytes" in err
    _, err = run(cli, who.ana, "import", str(tmp_path / "missing.csv"), code=1)
    assert "cannot read" in err
    _, err = run(cli, who.aude, "import", str(bad), code=1)
    assert "may not propose" in err
    assert counts(env) == before


def test_compare_shows_another_action_and_json_lists(
    env: Env, cli: CliRunner, tmp_path: Path
) -> None:
    who, catalog = actors(env), seed(env)
    reach(env, who, catalog, "in_force", target={"kind": "app", "app_id": "com.tencent.mm"})
    listed = tmp_path / "list.json"
    listed.write_bytes(example("json"))
    table, _ = run(cli, who.aude, "compare", str(listed))
    flat = " ".join(table.split())
    assert "1 in both (1 with another action), 0 only ours, 3 only theirs" in flat
    assert "com.tencent.mm" in table and "monitor" in table
