"""``resources.arsc`` resource tables holding string resources (the app label)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from builders.axml import _RES_STRING_POOL, _TYPE_REFERENCE, _TYPE_STRING, _Pool

_RES_TABLE = 0x0002
_RES_TABLE_PACKAGE = 0x0200
_RES_TABLE_TYPE = 0x0201
_RES_TABLE_TYPE_SPEC = 0x0202
_CONFIG_SIZE = 64
NO_ENTRY = 0xFFFFFFFF


def _utf8_pool(strings: list[str]) -> bytes:
    """A UTF-8 ResStringPool chunk (lengths in UTF-16 units, then in bytes)."""
    offsets: list[int] = []
    data = bytearray()
    for text in strings:
        encoded = text.encode("utf-8")
        units = len(text.encode("utf-16-le")) // 2
        if units > 0x7FFF or len(encoded) > 0x7FFF:
            raise ValueError("string too long for this builder's UTF-8 pool")
        offsets.append(len(data))
        for length in (units, len(encoded)):
            data += bytes([length]) if length < 0x80 else bytes([0x80 | length >> 8, length & 0xFF])
        data += encoded + b"\x00"
    data += b"\x00" * (-len(data) % 4)
    strings_start = 28 + 4 * len(offsets)
    header = struct.pack(
        "<HHIIIIII",
        _RES_STRING_POOL,
        28,
        strings_start + len(data),
        len(offsets),
        0,
        1 << 8,
        strings_start,
        0,
    )
    return header + struct.pack(f"<{len(offsets)}I", *offsets) + bytes(data)


def _string_pool(strings: list[str], utf8: bool) -> bytes:
    if utf8:
        return _utf8_pool(strings)
    pool = _Pool()
    for text in strings:
        pool.strings.append(text)  # keep duplicates and order: indexes are given
    return pool.chunk()


def _type_chunk(
    type_id: int, values: Mapping[int, tuple[int, int]], count: int, language: str = ""
) -> bytes:
    """A ResTable_type: ``values`` maps entry index to (Res_value type, data)."""
    # ResTable_config: size, imsi (4 bytes), then the language (2 chars); zero = default
    config = struct.pack("<I4s2s", _CONFIG_SIZE, b"", language.encode("ascii"))
    config = config.ljust(_CONFIG_SIZE, b"\x00")
    header_size = 20 + _CONFIG_SIZE
    offsets = []
    entries = bytearray()
    for index in range(count):
        if index not in values:
            offsets.append(NO_ENTRY)
            continue
        offsets.append(len(entries))
        kind, data = values[index]
        # ResTable_entry (size 8, flags 0, key) + Res_value (size 8, res0, type, data)
        entries += struct.pack("<HHIHBBI", 8, 0, index, 8, 0, kind, data)
    entries_start = header_size + 4 * count
    head = struct.pack(
        "<HHIBBHII",
        _RES_TABLE_TYPE,
        header_size,
        entries_start + len(entries),
        type_id,
        0,
        0,
        count,
        entries_start,
    )
    return head + config + struct.pack(f"<{count}I", *offsets) + bytes(entries)


def arsc(
    strings: Mapping[int, str | int],
    *,
    package_id: int = 0x7F,
    package_name: str = "com.example.app",
    localized: Mapping[str, Mapping[int, str]] | None = None,
    utf8: bool = False,
) -> bytes:
    """A ``resources.arsc`` with one package and one type, ``string`` (type id 1).

    ``strings`` maps an entry index to its value in the default configuration: the
    resource id is ``package_id << 24 | 0x010000 | index``. A ``str`` value is a string;
    an ``int`` value is a reference to another resource id. ``localized`` adds a type
    chunk per language (``{"fr": {0: "Bonjour"}}``), written *before* the default one.
    The global string pool is UTF-16, or UTF-8 with ``utf8=True``.
    """
    localized = localized or {}
    count = 1 + max([*strings, *(i for table in localized.values() for i in table)], default=-1)
    values: list[str] = []

    def string_value(text: str) -> tuple[int, int]:
        values.append(text)
        return _TYPE_STRING, len(values) - 1

    types = b""
    for language, table in localized.items():
        types += _type_chunk(1, {i: string_value(t) for i, t in table.items()}, count, language)
    default = {
        i: (_TYPE_REFERENCE, v) if isinstance(v, int) else string_value(v)
        for i, v in strings.items()
    }
    types += _type_chunk(1, default, count)
    type_spec = struct.pack("<HHIBBHI", _RES_TABLE_TYPE_SPEC, 16, 16 + 4 * count, 1, 0, 0, count)
    type_spec += b"\x00" * (4 * count)
    type_names = _string_pool(["string"], utf8=False)
    key_names = _string_pool([f"s{i}" for i in range(count)], utf8=False)
    header_size = 288
    name = package_name.encode("utf-16-le")[:254].ljust(256, b"\x00")
    body = type_names + key_names + type_spec + types
    package = struct.pack(
        "<HHII", _RES_TABLE_PACKAGE, header_size, header_size + len(body), package_id
    )
    # name, typeStrings, lastPublicType, keyStrings, lastPublicKey, typeIdOffset
    package += name + struct.pack("<IIIII", header_size, 1, header_size + len(type_names), count, 0)
    package += body
    pool = _string_pool(values, utf8)
    return struct.pack("<HHII", _RES_TABLE, 12, 12 + len(pool) + len(package), 1) + pool + package
