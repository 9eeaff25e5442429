"""Tests for appwarden.vetting.arsc: resolving the app label from resources.arsc."""

from __future__ import annotations

import struct
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings

from appwarden.vetting.arsc import ArscError, resolve_string
from builders import apk_bytes, arsc, manifest, mutations
from tests.conftest import APPS, require

LABEL = 0x7F010000
TABLE = arsc({0: "Hello", 1: "Ünïcödé 😀", 3: LABEL}, localized={"fr": {0: "Bonjour"}})
PLAIN = arsc({0: "Hello"})


def _androguard_apk(source: str | bytes) -> object:
    from loguru import logger

    logger.disable("androguard")
    from androguard.core.apk import APK

    return APK(source, raw=isinstance(source, bytes))


def _entry_at(table: bytes, index: int = 0) -> int:
    """Offset of the ResTable_entry (size 8, flags 0, key ``index``) of a string value."""
    return table.index(struct.pack("<HHIHBB", 8, 0, index, 8, 0, 0x03))


def _with_u32(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + struct.pack("<I", value) + data[at + 4 :]


def _append_chunk(table: bytes, kind: int, *, in_package: bool) -> bytes:
    """``table`` with an 8-byte chunk of ``kind`` at its very end (sizes fixed up)."""
    data = bytearray(table + struct.pack("<HHI", kind, 8, 8))
    struct.pack_into("<I", data, 4, len(data))
    if in_package:
        package = table.index(struct.pack("<HH", 0x0200, 288))
        struct.pack_into("<I", data, package + 4, len(data) - package)
    return bytes(data)


# ---------------------------------------------------------------- real tables


@pytest.mark.slow
def test_fixture_labels_agree_with_androguard() -> None:
    compared = []
    for path in sorted(require(APPS).glob("*.apk")):
        apk = _androguard_apk(str(path))
        raw = apk.get_attribute_value("application", "label")  # type: ignore[attr-defined]
        if not raw or not str(raw).startswith("@"):
            continue
        with zipfile.ZipFile(path) as archive:
            table = archive.read("resources.arsc")
        expected = apk.get_app_name()  # type: ignore[attr-defined]
        assert resolve_string(table, int(str(raw)[1:], 16)) == expected, path.name
        compared.append(path.name)
    assert len(compared) >= 10, compared


# ---------------------------------------------------------------- built tables


@pytest.mark.parametrize("utf8", [False, True], ids=["utf16", "utf8"])
@pytest.mark.parametrize("index", [0, 1, 3])
def test_built_table_agrees_with_androguard(utf8: bool, index: int) -> None:
    table = arsc({0: "Hello", 1: "Ünïcödé 😀", 3: LABEL}, utf8=utf8)
    label = f"@{LABEL | index:08x}"
    app = manifest(application_attrs={"android:label": label})
    data = apk_bytes(app, extra={"resources.arsc": table})
    expected = _androguard_apk(data).get_app_name()  # type: ignore[attr-defined]
    assert expected in ("Hello", "Ünïcödé 😀")
    assert resolve_string(table, LABEL | index) == expected


def test_default_configuration_is_preferred_over_a_locale() -> None:
    assert resolve_string(TABLE, LABEL) == "Hello"


def test_locale_only_value_is_the_fallback() -> None:
    table = arsc({1: "x"}, localized={"fr": {0: "Bonjour"}})
    assert resolve_string(table, LABEL) == "Bonjour"


def test_reference_is_followed() -> None:
    assert resolve_string(TABLE, LABEL | 3) == "Hello"


def test_reference_loop_ends() -> None:
    table = arsc({0: LABEL | 1, 1: LABEL})
    assert resolve_string(table, LABEL) is None


@pytest.mark.parametrize(
    "resource_id",
    [LABEL | 2, LABEL | 0x999, 0x7F020000, 0x01010000],
    ids=["no-entry", "past-entries", "other-type", "other-package"],
)
def test_missing_resource_is_none(resource_id: int) -> None:
    assert resolve_string(TABLE, resource_id) is None


# ---------------------------------------------------------------- damaged tables


DAMAGED = {
    "empty": b"",
    "header only": TABLE[:4],
    "truncated in half": TABLE[: len(TABLE) // 2],
    "truncated by one": TABLE[:-1],
    "table size past end": _with_u32(TABLE, 4, len(TABLE) + 1),
    "chunk size past end": _with_u32(TABLE, 12 + 4, len(TABLE)),
    "chunk size below 8": _with_u32(TABLE, 12 + 4, 4),
    "not a resource table": struct.pack("<HH", 0x0003, 12) + TABLE[4:],
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_table_raises_arsc_error(case: str) -> None:
    with pytest.raises(ArscError) as caught:
        resolve_string(DAMAGED[case], LABEL)
    assert isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value) and "resources.arsc" in str(caught.value)


@pytest.mark.parametrize("cut", range(0, len(TABLE), 7))
def test_every_truncation_raises_arsc_error(cut: int) -> None:
    with pytest.raises(ArscError):
        resolve_string(TABLE[:cut], LABEL)


# Each of these crashes resolve_string with struct.error or IndexError today.
BUGS = {
    # ResTable_entry.size (0xFFF0) sends the Res_value read past the end of the data.
    "entry size past chunk": (
        PLAIN[: _entry_at(PLAIN)] + struct.pack("<H", 0xFFF0) + PLAIN[_entry_at(PLAIN) + 2 :],
        LABEL,
    ),
    # Global pool stringCount 0xFFFF and a value index 0x1000: the offset table read
    # (pool + header + 4 * index) falls past the end.
    "string index past pool": (
        _with_u32(_with_u32(PLAIN, 12 + 8, 0xFFFF), _entry_at(PLAIN) + 12, 0x1000),
        LABEL,
    ),
    # An 8-byte ResTable_type chunk at the very end: its type id byte is read at +8.
    "8-byte type chunk at end": (_append_chunk(PLAIN, 0x0201, in_package=True), LABEL | 2),
    # An 8-byte ResTable_package chunk at the very end: its id is read at +8.
    "8-byte package chunk at end": (_append_chunk(PLAIN, 0x0200, in_package=False), LABEL),
}


@pytest.mark.parametrize("case", list(BUGS))
def test_damage_inside_chunks_raises_arsc_error(case: str) -> None:
    data, resource_id = BUGS[case]
    with pytest.raises(ArscError):
        resolve_string(data, resource_id)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutations(PLAIN, hot=len(PLAIN)))
def test_mutated_table_resolves_or_raises_arsc_error(data: bytes) -> None:
    try:
        result = resolve_string(data, LABEL)
    except ValueError as err:  # ArscError, or a UnicodeError from a decoder
        assert str(err)
        return
    assert result is None or isinstance(result, str)
