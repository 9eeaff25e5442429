"""A fast reader for the parts of a DEX file that vetting needs: type names and strings.

Written by hand on purpose. androguard's ``DEX`` parses every class, method and
instruction (hundreds of milliseconds on a large app) and exodus-core shells out to
``dexdump``; vetting needs only the type table, the class definitions and the string
data, which sit in flat arrays of fixed-size records that a few ``memoryview.cast``
calls read in C. The layout follows the Dalvik executable format reference
("dex-format" in the Android source documentation).
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass

from appwarden.vetting.errors import MalformedDex

_HEADER_SIZE = 0x70
_MAGIC_PREFIX = b"dex\n"
_ENDIAN_CONSTANT = 0x12345678

# Offsets of (size, offset) pairs in the header.
_STRING_IDS = 56
_TYPE_IDS = 64
_CLASS_DEFS = 96
_CLASS_DEF_WORDS = 8


@dataclass(frozen=True, slots=True)
class DexInfo:
    """What vetting reads from one DEX file."""

    #: Classes defined in this file, dotted (``com.example.Main$1``).
    defined_classes: list[str]
    #: Raw bytes of the string data section, for URL and host scanning.
    string_data: bytes


def _u32_array(data: bytes, offset: int, count: int, what: str) -> array[int]:
    end = offset + 4 * count
    if count and (offset < _HEADER_SIZE or end > len(data)):
        raise MalformedDex(
            f"the DEX {what} table (offset {offset}, {count} entries) is past its end"
        )
    values: array[int] = array("I")
    values.frombytes(data[offset:end])
    if sys.byteorder != "little":
        values.byteswap()
    return values


def _header_pair(data: bytes, at: int) -> tuple[int, int]:
    size = int.from_bytes(data[at : at + 4], "little")
    offset = int.from_bytes(data[at + 4 : at + 8], "little")
    return size, offset


def _string_at(data: bytes, offset: int) -> bytes:
    """The MUTF-8 bytes of the string_data_item at ``offset`` (skipping its ULEB128 length)."""
    position = offset
    for _ in range(5):
        if position >= len(data):
            raise MalformedDex(f"a DEX string offset ({offset}) is past its end")
        more = data[position] & 0x80
        position += 1
        if not more:
            break
    end = data.find(b"\x00", position)
    if end < 0:
        raise MalformedDex(f"the DEX string at {offset} runs past its end")
    return data[position:end]


def _dotted(descriptor: bytes) -> str | None:
    """``Lcom/a/B;`` (or an array of it) → ``com.a.B``; primitives → None."""
    start = 0
    while start < len(descriptor) and descriptor[start] == 0x5B:  # '['
        start += 1
    if len(descriptor) - start < 3 or descriptor[start] != 0x4C or descriptor[-1] != 0x3B:
        return None
    return descriptor[start + 1 : -1].decode("utf-8", "replace").replace("/", ".")


def read_dex(data: bytes) -> DexInfo:
    """Read defined class names and the string data; raise :class:`MalformedDex` if damaged."""
    if len(data) < _HEADER_SIZE or not data.startswith(_MAGIC_PREFIX):
        raise MalformedDex("not a DEX file (bad magic or shorter than its header)")
    if int.from_bytes(data[40:44], "little") != _ENDIAN_CONSTANT:
        raise MalformedDex("DEX file with an unsupported byte order")
    string_count, string_off = _header_pair(data, _STRING_IDS)
    type_count, type_off = _header_pair(data, _TYPE_IDS)
    class_count, class_off = _header_pair(data, _CLASS_DEFS)

    string_offsets = _u32_array(data, string_off, string_count, "string_ids")
    type_ids = _u32_array(data, type_off, type_count, "type_ids")
    class_defs = _u32_array(data, class_off, class_count * _CLASS_DEF_WORDS, "class_defs")
    if type_count and max(type_ids) >= string_count:
        raise MalformedDex("a DEX type refers to a string that does not exist")

    defined: list[str] = []
    find = data.find
    for type_index in class_defs[::_CLASS_DEF_WORDS]:
        if type_index >= type_count:
            raise MalformedDex("a DEX class definition refers to a type that does not exist")
        offset = string_offsets[type_ids[type_index]]
        # Fast path: a descriptor shorter than 128 units has a one-byte length and starts
        # with 'L' (0x4C); anything else goes through the careful reader.
        if offset + 1 < len(data) and data[offset] < 0x80 and data[offset + 1] == 0x4C:
            end = find(b"\x00", offset)
            if end < 0:
                raise MalformedDex(f"the DEX string at {offset} runs past its end")
            if data[end - 1] == 0x3B:
                defined.append(
                    data[offset + 2 : end - 1].decode("utf-8", "replace").replace("/", ".")
                )
                continue
        name = _dotted(_string_at(data, offset))
        if name is not None:
            defined.append(name)

    string_data = b""
    if string_count:
        low, high = min(string_offsets), max(string_offsets)
        if high >= len(data):
            raise MalformedDex(f"a DEX string offset ({high}) is past its end")
        last_end = data.find(b"\x00", high)
        string_data = data[low : (last_end if last_end >= 0 else len(data)) + 1]
    return DexInfo(defined_classes=defined, string_data=string_data)
