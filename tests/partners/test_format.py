"""The partner-list format: the documented examples, round trips, and every bad file
refused with its row (pure: no database)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from appwarden.errors import TooLarge
from appwarden.partners.compare import Ours, compare
from appwarden.partners.format import PartnerList, Target, neutralise, to_csv, to_json
from appwarden.partners.parse import PartnerFileError, parse

DOC = Path(__file__).resolve().parents[2] / "docs" / "partners.md"
LIMIT = 1024 * 1024
_EXAMPLE = re.compile(r"<!-- example: (\w+) -->\s*```\w+\n(.*?)```", re.DOTALL)


def examples() -> dict[str, str]:
    return dict(_EXAMPLE.findall(DOC.read_text(encoding="utf-8")))


def example(fmt: str) -> bytes:
    return examples()[fmt].encode("utf-8")


def refused(data: bytes | str, where: str, words: str, fmt: str | None = None) -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with pytest.raises(PartnerFileError) as caught:
        parse(raw, fmt=fmt, max_bytes=LIMIT)
    assert caught.value.extra["where"] == where, caught.value.detail
    assert words in caught.value.detail, caught.value.detail


HEADER = "jurisdiction,source_title,date,app_id,platform,publisher,action\n"


def row(app_id: str = "com.example.app", *, platform: str = "android", when: str = "2023-02-27",
        publisher: str = "", action: str = "ban", jurisdiction: str = "CA") -> str:  # fmt: skip
    return f"{jurisdiction},Statement,{when},{app_id},{platform},{publisher},{action}\n"


def test_the_documented_examples_are_one_list() -> None:
    assert set(examples()) == {"csv", "json"}
    from_csv = parse(example("csv"), max_bytes=LIMIT)
    from_json = parse(example("json"), max_bytes=LIMIT)
    assert from_csv == from_json
    assert from_csv.jurisdiction == "CA" and from_csv.date == date(2023, 2, 27)
    kinds = [(t.kind, t.value, t.platform, t.action) for t in from_csv.targets]
    assert kinds == [
        ("app", "com.zhiliaoapp.musically", "android", "ban"),
        ("app", "com.zhiliaoapp.musically", "ios", "ban"),
        ("publisher", "ByteDance Ltd.", None, "block"),
        ("app", "com.tencent.mm", None, "monitor"),
    ]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_written_lists_read_back_the_same(fmt: str) -> None:
    original = parse(example("json"), max_bytes=LIMIT)
    written = to_csv(original) if fmt == "csv" else to_json(original)
    assert parse(written, fmt=fmt, max_bytes=LIMIT) == original
    assert parse(written, max_bytes=LIMIT) == original  # the format is detected too


def test_csv_cells_that_would_run_as_formulas_are_neutralised_and_read_back() -> None:
    hostile = ['=HYPERLINK("http://evil.example")', "+1", "-2", "@SUM(A1)"]
    targets = tuple(Target(action="ban", publisher=name, name=name) for name in hostile)
    pl = PartnerList("=CA", "@title", None, date(2023, 2, 27), targets)
    text = to_csv(pl).decode("utf-8")
    for line in text.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.lstrip('"').startswith(("=", "+", "-", "@", "\t")), cell
    assert "'=HYPERLINK" in text and "'=CA" in text
    assert parse(text.encode(), max_bytes=LIMIT) == pl
    assert neutralise("\tx") == "'\tx" and neutralise("\r=1") == "'\r=1"
    assert neutralise("TikTok") == "TikTok"


def test_a_byte_order_mark_is_dropped() -> None:
    with_bom = b"\xef\xbb\xbf" + example("csv")
    assert parse(with_bom, max_bytes=LIMIT) == parse(example("csv"), max_bytes=LIMIT)
    assert parse(b"\xef\xbb\xbf" + example("json"), max_bytes=LIMIT).jurisdiction == "CA"


def test_columns_in_any_order_and_optional_ones_left_out() -> None:
    text = "action,app_id,date,source_title,jurisdiction\nban,com.example.app,2024-01-02,S,US\n"
    pl = parse(text.encode(), max_bytes=LIMIT)
    assert pl.targets == (Target(action="ban", app_id="com.example.app"),)
    assert pl.source_url is None


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (
            HEADER.replace("action", "action,severity") + row().strip() + ",high\n",
            "line 1",
            "unknown column 'severity'",
        ),
        (HEADER.replace("date,", ""), "line 1", "missing column(s) date"),
        ("jurisdiction,source_title,date,action\n", "line 1", "missing column app_id or publisher"),
        (HEADER.replace("platform", "app_id"), "line 1", "column 'app_id' appears twice"),
        (HEADER, "line 2", "header only"),
        (HEADER + row() + row("com.other", when="2023-02-30"), "line 3", "not a date YYYY-MM-DD"),
        (HEADER + row(when="27/02/2023"), "line 2", "not a date YYYY-MM-DD: '27/02/2023'"),
        (
            HEADER + row() + "\n" + row("com.b") + row(),
            "line 5",
            "app com.example.app (android) repeats the target of line 2",
        ),
        (HEADER + row(platform="") + row(platform="ios"), "line 3", "repeats the target of line 2"),
        (
            HEADER
            + row("", platform="", publisher="ByteDance")
            + row("", platform="", publisher="BYTEDANCE"),
            "line 3",
            'publisher "BYTEDANCE" repeats',
        ),
        (
            HEADER + row() + row("com.b", jurisdiction="US"),
            "line 3",
            "jurisdiction differs from line 2's",
        ),
        (HEADER + row(action="delete"), "line 2", "action 'delete' is not one of"),
        (HEADER + row(platform="windows"), "line 2", "platform 'windows'"),
        (HEADER + row("not an id!"), "line 2", "is not a package name"),
        (HEADER + row(publisher="ByteDance"), "line 2", "give exactly one of app_id and publisher"),
        (HEADER + row("", platform="ios", publisher="X"), "line 2", "takes no platform"),
        (HEADER + row().strip() + ",extra\n", "line 2", "8 cells; the header has 7"),
        (HEADER + 'CA,"unclosed,2023-02-27,a,,,ban\n', "line 3", "not CSV"),
        ("", "", "the file is empty"),
        ("\n \n", "", "the file is empty"),
    ],
)
def test_bad_csv_is_refused_naming_the_line(text: str, where: str, words: str) -> None:
    refused(text, where, words, fmt="csv")


def test_a_file_not_in_utf8_names_its_line() -> None:
    latin1 = (HEADER + row() + "CA,Déclaration,2023-02-27,com.b,android,,ban\n").encode("latin-1")
    refused(latin1, "line 3", "byte 0xE9 is not UTF-8")
    utf16 = (HEADER + row()).encode("utf-16")
    refused(utf16, "line 1", "the file is UTF-16")


def test_a_file_over_the_limit_is_refused_before_parsing() -> None:
    big = HEADER.encode() + b"x" * LIMIT  # not even CSV: the size is checked first
    with pytest.raises(TooLarge, match=f"larger than {LIMIT} bytes"):
        parse(big, max_bytes=LIMIT)


def _json(**changes: object) -> str:
    document = json.loads(example("json"))
    document.update(changes)
    return json.dumps(document, indent=1)


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (_json(severity="high"), "", "unknown field 'severity'"),
        (_json(date="2023-13-01"), "", "not a date YYYY-MM-DD: '2023-13-01'"),
        (_json(date=20230227), "", "not a date"),
        (_json(version=2), "", '"version": 1'),
        (_json(targets=[]), "targets", "non-empty array"),
        (
            _json(
                targets=[
                    {"app_id": "a.b", "action": "ban"},
                    {"app_id": "a.b", "action": "ban", "color": "red"},
                ]
            ),
            "item 1",
            "color: unknown field",
        ),
        (
            _json(
                targets=[{"app_id": "a.b", "action": "ban"}, {"app_id": "a.b", "action": "block"}]
            ),
            "item 1",
            "app a.b (both platforms) repeats the target of item 0",
        ),
        (_json(targets=[{"app_id": "a.b", "action": "ban"}, "a.c"]), "item 1", "must be an object"),
        (_json(targets=[{"action": "ban"}]), "item 0", "exactly one of app_id and publisher"),
        ('{"format": "appwarden-partner-list", "format": "x"}', "", "appears twice"),
        ('{"format": "appwarden-partner-list",\n "version": 1,,}', "line 2", "not JSON"),
        ("[1, 2]", "", "must be a JSON object"),
    ],
)
def test_bad_json_is_refused_naming_the_item(text: str, where: str, words: str) -> None:
    refused(text, where, words, fmt="json")


def test_compare_pairs_overlapping_targets() -> None:
    ours = [
        Ours(Target(action="ban", app_id="com.zhiliaoapp.musically"), 1, "in_force"),
        Ours(Target(action="ban", publisher="Kaspersky Lab"), 2, "in_force"),
        Ours(Target(action="ban", app_id="com.tencent.mm", platform="ios"), 3, "in_force"),
    ]
    theirs = parse(example("csv"), max_bytes=LIMIT).targets
    result = compare(ours, theirs)
    assert [(p.ours.determination_id, p.theirs.platform, p.same_action) for p in result.both] == [
        (1, "android", True),
        (1, "ios", True),
        (3, None, False),  # ours bans WeChat on iOS, theirs monitors it on both
    ]
    assert [o.determination_id for o in result.only_ours] == [2]
    assert [t.value for t in result.only_theirs] == ["ByteDance Ltd."]
    other = replace(theirs[2], publisher="bytedance ltd.")
    assert compare([Ours(other, 9, "proposed")], [theirs[2]]).both[0].ours.determination_id == 9
