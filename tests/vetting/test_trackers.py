"""Tracker definitions and matching, checked against Exodus's own matching rule."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import IO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appwarden.vetting.assess import Vetter
from appwarden.vetting.trackers import (
    DefinitionsError,
    TrackerMatcher,
    load_curated,
    load_definitions_file,
    load_installed,
    parse_definitions,
    to_document,
)
from appwarden.vetting.trackers.matcher import _as_literal
from tests.conftest import EXODUS_SNAPSHOT, fixture_apks, require

# ------------------------------------------------------------ Exodus's rule (exodus-core 1.3.15)

_EXODUS_CLASS = re.compile(r"[A-Z]+((?:\w+\/)+\w+)")


def exodus_classes(archive: str | IO[bytes], workdir: str) -> set[str]:
    """exodus-core's get_embedded_classes: dexdump every classes*.dex, nested APKs too."""
    classes: set[str] = set()
    with zipfile.ZipFile(archive) as apk:
        for info in apk.infolist():
            if re.search(r".*\.apk", info.filename):
                with apk.open(info) as nested:
                    classes |= exodus_classes(nested, workdir)
            elif re.search(r"classes.*\.dex", info.filename):
                path = apk.extract(info, workdir)
                dump = subprocess.run(["dexdump", path], capture_output=True, check=False).stdout
                classes |= set(_EXODUS_CLASS.findall(dump.decode(errors="ignore")))
    return classes


def exodus_detect(snapshot: dict[str, dict[str, object]], classes: set[str]) -> set[str]:
    """exodus-core's detect_trackers_in_list: each signature searched as a regex."""
    found = set()
    for tracker in snapshot.values():
        signature = str(tracker["code_signature"])
        if len(signature) > 3 and any(re.search(signature, c) for c in classes):
            found.add(str(tracker["name"]))
    return found


def _dexdump() -> str:
    path = shutil.which("dexdump")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("dexdump is missing in CI (.ci/run installs it)")
        pytest.skip("dexdump is not installed (apt-get install dexdump)")
    return path


@pytest.fixture(scope="module")
def snapshot_vetter() -> Vetter:
    return Vetter(load_definitions_file(require(EXODUS_SNAPSHOT)))


@pytest.mark.slow
@pytest.mark.parametrize("path", fixture_apks(), ids=lambda p: p.name)
def test_code_matches_equal_exodus_core(snapshot_vetter: Vetter, path: Path) -> None:
    _dexdump()
    snapshot = json.loads(EXODUS_SNAPSHOT.read_text(encoding="utf-8"))["trackers"]
    with tempfile.TemporaryDirectory() as workdir:
        try:
            expected = exodus_detect(snapshot, exodus_classes(str(path), workdir))
        except zipfile.BadZipFile:
            pytest.skip("exodus-core cannot open this file either")
    try:
        assessment = snapshot_vetter.assess_file(path)
    except Exception:  # noqa: BLE001 - a file we refuse must be one exodus finds nothing in
        assert expected == set()
        return
    ours = {t.name for t in assessment.trackers if t.matched_by in ("code", "both")}
    assert ours == expected


def test_instapaper_trackers(snapshot_vetter: Vetter) -> None:
    from tests.conftest import APPS

    assessment = snapshot_vetter.assess_file(require(APPS / "instapaper.apk"))
    code = {t.name for t in assessment.trackers if t.matched_by in ("code", "both")}
    assert code == {
        "Facebook Analytics",
        "Facebook Login",
        "Facebook Places",
        "Facebook Share",
        "Google CrashLytics",
        "Google Firebase Analytics",
    }
    crashlytics = next(t for t in assessment.trackers if t.name == "Google CrashLytics")
    assert crashlytics.evidence.class_count >= len(crashlytics.evidence.classes) > 0
    assert all(
        c.startswith(("io.fabric.", "com.crashlytics.")) for c in crashlytics.evidence.classes
    )


# ---------------------------------------------------------------- matching vs the regex oracle


def _near_miss(core: str) -> str:
    """Change the last character of a literal so it no longer contains the signature."""
    last = core[-1]
    replacement = "q" if last != "q" else "z"
    return core[:-1] + replacement


def _names_for(signature: str) -> tuple[str, str]:
    literal = _as_literal(signature.split("|")[0])
    assert literal is not None
    core, lead, trail = literal
    prefix = "x." * lead
    suffix = "Y" * max(trail, 0) + ".Impl"
    return prefix + core + suffix, prefix + _near_miss(core) + suffix


def _oracle(signature: str, name: str) -> bool:
    """Exodus's rule on the slash-separated form it sees."""
    return re.search(signature, name.replace(".", "/")) is not None


def test_every_curated_signature_matches_and_near_misses_do_not() -> None:
    definitions = load_curated()
    matcher = TrackerMatcher(definitions)
    checked = 0
    for tracker in definitions.trackers:
        for signature in tracker.code_signatures:
            hit, miss = _names_for(signature)
            found = {t.id for t in matcher.match(classes=[hit], domains=[])}
            assert tracker.id in found, (signature, hit)
            missed = {t.id for t in matcher.match(classes=[miss], domains=[])}
            assert tracker.id not in missed, (signature, miss)
            checked += 1
    assert checked >= 100


def test_snapshot_signatures_agree_with_the_regex_oracle(exodus_snapshot: Path) -> None:
    definitions = load_definitions_file(exodus_snapshot)
    matcher = TrackerMatcher(definitions)
    checked = 0
    for tracker in definitions.trackers:
        for signature in tracker.code_signatures:
            if len(signature) <= 3:
                continue
            for alternative in signature.split("|"):
                if _as_literal(alternative) is None or not _as_literal(alternative)[0]:  # type: ignore[index]
                    continue
                for name in _names_for(alternative):
                    expected = {
                        t.name
                        for t in definitions.trackers
                        if any(len(s) > 3 and _oracle(s, name) for s in t.code_signatures)
                    }
                    got = {t.name for t in matcher.match(classes=[name], domains=[])}
                    assert got == expected, (alternative, name)
                    checked += 1
    assert checked >= 100


_FRAGMENTS = [
    "com",
    "facebook",
    "ads",
    "appevents",
    "google",
    "android",
    "gms",
    "measurement",
    "crashlytics",
    "io",
    "fabric",
    "tencent",
    "mm",
    "opensdk",
    "bytedance",
    "sdk",
    "Ligatus",
    "Manager",
    "x",
    "a1",
    "$1",
    "Impl",
    "unity3d",
    "services",
]


@functools.cache
def _snapshot_oracle() -> tuple[TrackerMatcher, list[tuple[str, list[re.Pattern[str]]]]]:
    definitions = load_definitions_file(EXODUS_SNAPSHOT)
    patterns = [
        (t.name, [re.compile(s) for s in t.code_signatures if len(s) > 3])
        for t in definitions.trackers
    ]
    return TrackerMatcher(definitions), patterns


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=6), min_size=1, max_size=8)
)
def test_random_class_names_agree_with_the_regex_oracle(parts: list[list[str]]) -> None:
    require(EXODUS_SNAPSHOT)
    matcher, patterns = _snapshot_oracle()
    names = [".".join(p) for p in parts]
    slashed = [n.replace(".", "/") for n in names]
    expected = {
        name for name, compiled in patterns if any(p.search(n) for p in compiled for n in slashed)
    }
    assert {t.name for t in matcher.match(classes=names, domains=[])} == expected


# ---------------------------------------------------------------- network and frameworks


def test_network_signatures_match_domains_and_subdomains_only() -> None:
    matcher = TrackerMatcher(load_curated())
    found = matcher.match(classes=[], domains=["t.appsflyer.com", "notappsflyer.com"])
    appsflyer = [t for t in found if t.id == "appsflyer"]
    assert len(appsflyer) == 1
    assert appsflyer[0].matched_by == "network"
    assert appsflyer[0].evidence.domains == ["t.appsflyer.com"]


def test_exodus_network_regexes(exodus_snapshot: Path) -> None:
    matcher = TrackerMatcher(load_definitions_file(exodus_snapshot))
    names = {t.name for t in matcher.match(classes=[], domains=["stats.appsflyer.com"])}
    assert "AppsFlyer" in names


def test_both_code_and_network() -> None:
    matcher = TrackerMatcher(load_curated())
    found = matcher.match(classes=["com.appsflyer.AppsFlyerLib"], domains=["t.appsflyer.com"])
    assert [t.matched_by for t in found if t.id == "appsflyer"] == ["both"]


def test_ios_frameworks() -> None:
    definitions = load_curated()
    tracker = next(t for t in definitions.trackers if t.ios_frameworks)
    found = TrackerMatcher(definitions).match(
        classes=[], domains=[], frameworks=[tracker.ios_frameworks[0]]
    )
    assert tracker.id in {t.id for t in found}


def test_curated_covers_the_banned_publishers_and_fifty_sdks() -> None:
    definitions = load_curated()
    publishers = {t.publisher for t in definitions.trackers}
    assert any(p and "Tencent" in p for p in publishers)
    assert any(p and "ByteDance" in p for p in publishers)
    assert any(p and "Kaspersky" in p for p in publishers)
    ads_or_analytics = [
        t
        for t in definitions.trackers
        if {"advertising", "analytics", "attribution"} & set(t.categories)
    ]
    assert len(ads_or_analytics) >= 50


# ---------------------------------------------------------------- definitions files


def test_bad_definition_files_are_refused_with_the_reason(tmp_path: Path) -> None:
    cases = {
        "notjson.json": "{",
        "array.json": "[]",
        "nokey.json": '{"something": 1}',
        "badregex.json": '{"trackers": {"1": {"name": "X", "code_signature": "com.(x"}}}',
        "noname.json": '{"trackers": {"1": {"code_signature": "com.x"}}}',
        "dupid.json": json.dumps(
            {
                "format": "appwarden-trackers/1",
                "trackers": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}],
            }
        ),
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(DefinitionsError) as error:
            load_definitions_file(path)
        assert name in str(error.value) and "\n" not in str(error.value)
    latin = tmp_path / "latin.json"
    latin.write_bytes(
        '{"trackers": {"1": {"name": "Caf\u00e9", "code_signature": "com.x"}}}'.encode("latin-1")
    )
    with pytest.raises(DefinitionsError, match="UTF-8"):
        load_definitions_file(latin)


def test_stored_document_round_trips(exodus_snapshot: Path) -> None:
    original = load_definitions_file(exodus_snapshot)
    again = parse_definitions(to_document(original), "stored")
    assert again.trackers == original.trackers


def test_installed_lists_merge_by_name(tmp_path: Path, exodus_snapshot: Path) -> None:
    folder = tmp_path / "trackers"
    folder.mkdir()
    (folder / "exodus.json").write_text(
        to_document(load_definitions_file(exodus_snapshot)), encoding="utf-8"
    )
    merged = load_installed(folder)
    names = [t.name.casefold() for t in merged.trackers]
    assert len(names) == len(set(names))
    assert len(merged.trackers) > len(load_curated().trackers)
    assert merged.sha256 != load_curated().sha256
