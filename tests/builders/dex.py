"""Minimal DEX files that define the given classes and strings."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable

from builders.axml import NO_INDEX

_DEX_HEADER = 0x70
_MAP_TYPES = {  # map_list item type codes
    "header": 0x0000,
    "string_id": 0x0001,
    "type_id": 0x0002,
    "class_def": 0x0006,
    "map_list": 0x1000,
    "string_data": 0x2002,
}


def _uleb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _mutf8(text: str) -> bytes:
    """Modified UTF-8: NUL as C0 80, supplementary characters as two 3-byte surrogates."""
    out = bytearray()
    units = text.encode("utf-16-le")
    for i in range(0, len(units), 2):
        unit = units[i] | units[i + 1] << 8
        if 0 < unit < 0x80:
            out.append(unit)
        elif unit < 0x800:
            out += bytes((0xC0 | unit >> 6, 0x80 | unit & 0x3F))
        else:
            out += bytes((0xE0 | unit >> 12, 0x80 | unit >> 6 & 0x3F, 0x80 | unit & 0x3F))
    return bytes(out)


def descriptor(dotted: str) -> str:
    """``com.example.Main`` → ``Lcom/example/Main;``."""
    return "L" + dotted.replace(".", "/") + ";"


def dex(classes: list[str], strings: Iterable[str] = ()) -> bytes:
    """A minimal DEX file defining ``classes`` (dotted names) and holding ``strings``.

    Header (0x70 bytes, version 035, endian tag 0x12345678, file_size), string_ids,
    type_ids (one per class), class_defs (32 bytes each: superclass and source file
    NO_INDEX, every offset 0), the string data (ULEB128 UTF-16 length, MUTF-8, NUL;
    sorted by UTF-16 code units as the format requires) and a map_list. Classes have no
    methods, fields or superclass. The Adler-32 checksum and SHA-1 signature are filled
    in (androguard checks the checksum); AppWarden's reader checks neither, so tests that
    damage a DEX need not fix them up.
    """
    descriptors = [descriptor(name) for name in classes]
    if len(set(descriptors)) != len(descriptors):
        raise ValueError("a class is listed twice")
    table = sorted(set(descriptors) | set(strings), key=lambda s: s.encode("utf-16-be"))
    index = {text: i for i, text in enumerate(table)}
    type_strings = sorted(index[d] for d in descriptors)  # type_ids sorted by string index
    type_index = {string: i for i, string in enumerate(type_strings)}

    string_ids_off = _DEX_HEADER
    type_ids_off = string_ids_off + 4 * len(table)
    class_defs_off = type_ids_off + 4 * len(type_strings)
    data_off = class_defs_off + 32 * len(descriptors)

    string_data = bytearray()
    string_offsets = []
    for text in table:
        string_offsets.append(data_off + len(string_data))
        string_data += _uleb128(len(text.encode("utf-16-le")) // 2) + _mutf8(text) + b"\x00"
    string_data += b"\x00" * (-len(string_data) % 4)
    map_off = data_off + len(string_data)
    items = [("header", 1, 0)]
    if table:
        items.append(("string_id", len(table), string_ids_off))
    if type_strings:
        items.append(("type_id", len(type_strings), type_ids_off))
    if descriptors:
        items.append(("class_def", len(descriptors), class_defs_off))
    if table:
        items.append(("string_data", len(table), data_off))
    items.append(("map_list", 1, map_off))
    map_list = struct.pack("<I", len(items)) + b"".join(
        struct.pack("<HHII", _MAP_TYPES[kind], 0, count, offset) for kind, count, offset in items
    )
    file_size = map_off + len(map_list)

    def section(count: int, offset: int) -> tuple[int, int]:
        return (count, offset if count else 0)

    header = b"dex\n035\x00" + struct.pack(
        "<I20sIIIIII", 0, b"\x00" * 20, file_size, _DEX_HEADER, 0x12345678, 0, 0, map_off
    )
    header += struct.pack(
        "<14I",
        *section(len(table), string_ids_off),
        *section(len(type_strings), type_ids_off),
        0,
        0,  # proto_ids
        0,
        0,  # field_ids
        0,
        0,  # method_ids
        *section(len(descriptors), class_defs_off),
        file_size - data_off,
        data_off,
    )
    assert len(header) == _DEX_HEADER  # noqa: S101 (a builder invariant)
    body = struct.pack(f"<{len(string_offsets)}I", *string_offsets)
    body += struct.pack(f"<{len(type_strings)}I", *type_strings)
    for name in descriptors:
        body += struct.pack("<8I", type_index[index[name]], 0x1, NO_INDEX, 0, NO_INDEX, 0, 0, 0)
    unsigned = header[32:] + body + bytes(string_data) + map_list
    signed = hashlib.sha1(unsigned).digest() + unsigned  # noqa: S324 (the format's own hash)
    return header[:8] + struct.pack("<I", zlib.adler32(signed)) + signed
