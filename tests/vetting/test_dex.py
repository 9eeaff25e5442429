"""Tests for appwarden.vetting.dex: built DEX files, a real one, and damaged ones."""

from __future__ import annotations

import re
import struct
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings

from appwarden.vetting.dex import read_dex
from appwarden.vetting.errors import MalformedDex
from builders import dex, mutations
from tests.conftest import APPS, require

CLASSES = ["com.example.Main", "com.example.Main$1", "com.facebook.ads.AdView", "a.b"]
STRINGS = ["https://graph.facebook.com/v1", "http://8.8.8.8/x", "café", "z\x00", "😀"]

# Header offsets (dex-format): (size, offset) pairs.
STRING_IDS, TYPE_IDS, CLASS_DEFS = 56, 64, 96


def _u32(data: bytes, at: int) -> int:
    return int(struct.unpack_from("<I", data, at)[0])


def _patch(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + struct.pack("<I", value) + data[at + 4 :]


def _androguard_classes(data: bytes) -> list[str]:
    from loguru import logger

    logger.disable("androguard")
    from androguard.core.dex import DEX

    return [str(c.get_name())[1:-1].replace("/", ".") for c in DEX(data).get_classes()]


# ---------------------------------------------------------------- well-formed


def test_builder_dex_classes_come_back_dotted() -> None:
    info = read_dex(dex(CLASSES, STRINGS))
    assert info.defined_classes == CLASSES


def test_builder_dex_string_region_holds_every_string() -> None:
    info = read_dex(dex(CLASSES, STRINGS))
    for text in ["https://graph.facebook.com/v1", "http://8.8.8.8/x", "Lcom/facebook/ads/AdView;"]:
        assert text.encode() + b"\x00" in info.string_data
    assert "café".encode() in info.string_data
    assert b"z\xc0\x80\x00" in info.string_data  # MUTF-8 encodes NUL as C0 80
    assert info.string_data.endswith(b"\x00")


def test_builder_dex_is_read_by_androguard_too() -> None:
    """The builder is checked against an independent parser, not only against ours."""
    assert _androguard_classes(dex(CLASSES, STRINGS)) == CLASSES


def test_empty_dex() -> None:
    info = read_dex(dex([]))
    assert info.defined_classes == []
    assert info.string_data == b""


def test_strings_only_dex() -> None:
    info = read_dex(dex([], ["https://example.org/a"]))
    assert info.defined_classes == []
    assert b"https://example.org/a\x00" in info.string_data


def test_long_and_array_descriptors() -> None:
    long_name = "com.example." + "x" * 300  # a descriptor with a two-byte ULEB128 length
    info = read_dex(dex([long_name, "b.C"], ["[Lcom/example/Arr;", "I"]))
    assert info.defined_classes == [long_name, "b.C"]


@pytest.mark.slow
def test_fixture_dex_classes_match_androguard() -> None:
    path = require(APPS / "instapaper.apk")
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if re.fullmatch(r"classes\d*\.dex", n)]
        assert names
        for name in names:
            data = archive.read(name)
            ours = read_dex(data).defined_classes
            assert ours == _androguard_classes(data), name
            assert len(ours) > 1000


# ---------------------------------------------------------------- malformed


def _type_index_past_strings(data: bytes) -> bytes:
    return _patch(data, _u32(data, TYPE_IDS + 4), _u32(data, STRING_IDS) + 5)


def _class_type_past_types(data: bytes) -> bytes:
    return _patch(data, _u32(data, CLASS_DEFS + 4), _u32(data, TYPE_IDS) + 1)


def _string_offset_past_end(data: bytes) -> bytes:
    return _patch(data, _u32(data, STRING_IDS + 4), len(data) + 100)


BASE = dex(CLASSES, STRINGS)
MALFORMED = {
    "empty": (b"", r"not a DEX file"),
    "shorter than its header": (BASE[:0x6F], r"shorter than its header"),
    "bad magic": (b"zip\n035\x00" + BASE[8:], r"bad magic"),
    "big-endian tag": (_patch(BASE, 40, 0x78563412), r"byte order"),
    "string_ids past end": (_patch(BASE, STRING_IDS + 4, len(BASE)), r"string_ids table .* past"),
    "string_ids inside header": (_patch(BASE, STRING_IDS + 4, 8), r"string_ids table .* past"),
    "string count huge": (_patch(BASE, STRING_IDS, 0x10000000), r"string_ids table .* past"),
    "type_ids past end": (_patch(BASE, TYPE_IDS + 4, len(BASE) - 2), r"type_ids table .* past"),
    "class_defs past end": (_patch(BASE, CLASS_DEFS, 1000), r"class_defs table .* past"),
    "type index past string count": (
        _type_index_past_strings(BASE),
        r"type refers to a string that does not exist",
    ),
    "class_def type past type count": (
        _class_type_past_types(BASE),
        r"class definition refers to a type that does not exist",
    ),
    "string data offset past end": (_string_offset_past_end(BASE), r"string offset .* past"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_dex_is_reported_clearly(case: str) -> None:
    data, message = MALFORMED[case]
    with pytest.raises(MalformedDex, match=message) as caught:
        read_dex(data)
    text = str(caught.value)
    assert text and "\n" not in text and "DEX" in text


def test_unterminated_string_is_malformed() -> None:
    data = dex(["a.B"])
    cut = data.rindex(b"La/B;") + 5  # drop the descriptor's NUL and everything after it
    data = data[:cut] + b";" * 0x10
    with pytest.raises(MalformedDex, match="past its end"):
        read_dex(data)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutations(BASE))
def test_damaged_dex_reads_or_raises_malformed_dex(data: bytes) -> None:
    try:
        info = read_dex(data)
    except MalformedDex as err:
        assert str(err) and "\n" not in str(err)
        return
    assert all(isinstance(name, str) for name in info.defined_classes)
    assert isinstance(info.string_data, bytes)
