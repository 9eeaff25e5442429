"""Inputs on which ``bench/fuzz_vet.py`` found vetting failing, rebuilt from the fixtures.

Each test applies the fuzzer's deterministic mutation to a fixture app at test time (the
damaged files are never committed) and checks that vetting now ends in the documented
:class:`VettingError`, with a one-line message, or in an assessment. docs/reliability.md
lists each finding with the test that covers it.
"""

from __future__ import annotations

import re

import pytest

import _zipraw as raw
from _mutations import Mutation, apply
from appwarden.vetting.assess import Vetter
from appwarden.vetting.errors import UnreadableFile, VettingError
from appwarden.vetting.plists import TooComplex, text_of, to_json_dict
from tests.conftest import APPS, require

VETTER = Vetter()


def _fixture(name: str) -> bytes:
    return require(APPS / name).read_bytes()


def _entry(data: bytes, name: str) -> int:
    return raw.parse(data).index(name)


def _refused(data: bytes, name: str, error: type[VettingError], pattern: str) -> None:
    kind = "ipa" if name.endswith(".ipa") else "apk"
    with pytest.raises(VettingError) as caught:
        VETTER.assess_bytes(data, name=name, kind=kind)
    assert type(caught.value) is error, repr(caught.value)
    message = str(caught.value)
    assert "\n" not in message and re.search(pattern, message), message


@pytest.mark.parametrize("fixture", ["hello-world.apk", "instapaper.apk"])
def test_dex_entry_declared_lzma_is_unreadable(fixture: str) -> None:
    """Central directory method 14 (LZMA) on deflated DEX data: lzma.LZMAError escaped."""
    data = _fixture(fixture)
    mutation = Mutation("zip_central", ((_entry(data, "classes.dex"), "method", 14),))
    _refused(apply(data, mutation), fixture, UnreadableFile, r"'classes\.dex' .* is damaged")


@pytest.mark.parametrize("fixture", ["urzip-release.apk", "com.politedroid_3.apk"])
def test_resource_table_declared_lzma_leaves_the_label_unresolved(fixture: str) -> None:
    """The same on resources.arsc, read for the app label: the label becomes a warning."""
    data = _fixture(fixture)
    mutation = Mutation("zip_central", ((_entry(data, "resources.arsc"), "method", 14),))
    assessment = VETTER.assess_bytes(apply(data, mutation), name=fixture, kind="apk")
    assert assessment.app.label is None
    assert any("resources.arsc" in w and "damaged" in w for w in assessment.warnings), (
        assessment.warnings
    )
    assert assessment.model_dump_json()


def test_plist_integer_of_thousands_of_digits_is_not_text() -> None:
    """A zeroed byte in Info.plist turned a usage string's marker into an integer of
    2**15 bytes; ``str()`` of it raised ValueError (Python's int digit limit)."""
    name = "com.fake.IpaApp_1000000000001.ipa"
    mutation = Mutation("plist", (("byte", 264297, 1073741824),))
    assessment = VETTER.assess_bytes(apply(_fixture(name), mutation), name=name, kind="ipa")
    assert assessment.ios is not None
    texts = {u.key: u.text for u in assessment.ios.usage_descriptions}
    assert texts["NSMicrophoneUsageDescription"] == ""
    assert texts["NSCameraUsageDescription"].startswith("Please allow access to your camera")
    assert assessment.model_dump_json()


def test_plist_wide_integers_are_refused_as_data() -> None:
    """The same integer inside entitlements or a privacy manifest: a ValueError the
    readers turn into a warning, and no text of it anywhere."""
    wide = 1 << 40000
    assert text_of(wide) is None and text_of(1 << 100) == str(1 << 100)
    with pytest.raises(TooComplex, match="wider than 128 bits"):
        to_json_dict({"key": [wide]})
    with pytest.raises(TooComplex, match="wider than 128 bits"):
        to_json_dict({wide: "value"})
