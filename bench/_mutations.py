"""Deterministic damage to app files: each :class:`Mutation` is a kind and a list of edits
that :func:`apply` replays on the same bytes to give the same input, so a crash the fuzzer
finds becomes a regression test that rebuilds its input from the fixture at test time.

Kinds (see :data:`KINDS`):

* ``flip``: XOR single bytes; ``overwrite``: set a byte/u16/u32 to a boundary or random
  value; ``truncate``: cut the file short.
* ``zip_local``, ``zip_central``, ``zip_eocd``: set one field of a local header, a central
  directory header or the end-of-central-directory record (offsets, sizes, methods,
  flags, name lengths).
* ``zip_huge``: declare an entry's uncompressed (or compressed) size huge.
* ``zip_names``: rename entries (to a duplicate, a traversal, an absolute or odd name),
  copy or drop them.
* ``axml``: edit the string pool of ``AndroidManifest.xml`` (counts, offsets, flags,
  string lengths and characters).
* ``plist``: edit the binary ``Info.plist`` of an IPA (trailer, offset table, object
  markers and sizes, references).
* ``dex``: edit a ``classes*.dex`` header (table sizes and offsets, magic, file size) or
  its string offsets.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import _zipraw as raw  # noqa: I001 (bench/ is the script folder)

Edit = tuple[Any, ...]

KINDS = (
    "flip",
    "overwrite",
    "truncate",
    "zip_local",
    "zip_central",
    "zip_eocd",
    "zip_huge",
    "zip_names",
    "axml",
    "plist",
    "dex",
)

HOSTILE_NAMES = (
    "../evil",
    "a/../../b",
    "/abs/path",
    "C:\\evil",
    "assets\\..\\..\\evil",
    "x\x00y",
    "",
    "/",
    "AndroidManifest.xml/",
    "Payload/../Payload/x",
    "Payload/Evil.app/Info.plist",
    "classes.dex",
    "classes2.dex",
    "resources.arsc",
    "assets/inner.apk",
    "META-INF/CERT.RSA",
    "\udcff",
    "é" * 300,
)


@dataclass(frozen=True)
class Mutation:
    kind: str
    edits: tuple[Edit, ...]

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind, "edits": [list(edit) for edit in self.edits]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Mutation:
        return cls(str(data["kind"]), tuple(tuple(edit) for edit in data["edits"]))


def apply(data: bytes, mutation: Mutation) -> bytes:
    """The damaged copy of ``data``. Edits that do not fit this file are skipped."""
    return APPLIERS[mutation.kind](data, mutation.edits)


# ---------------------------------------------------------------- plain bytes


def _flip(data: bytes, edits: Sequence[Edit]) -> bytes:
    out = bytearray(data)
    for at, mask in edits:
        if out:
            out[at % len(out)] ^= mask & 0xFF or 1
    return bytes(out)


def _overwrite(data: bytes, edits: Sequence[Edit]) -> bytes:
    out = bytearray(data)
    for at, width, value in edits:
        if len(out) >= width:
            at %= len(out) - width + 1
            out[at : at + width] = (value & ((1 << 8 * width) - 1)).to_bytes(width, "little")
    return bytes(out)


def _truncate(data: bytes, edits: Sequence[Edit]) -> bytes:
    (length,) = edits[0]
    return data[: length % (len(data) + 1)]


# ---------------------------------------------------------------- ZIP records


def _zip_local(data: bytes, edits: Sequence[Edit]) -> bytes:
    archive = raw.parse(data)
    for index, name, value in edits:
        entry = archive.entries[index % len(archive.entries)]
        at, width = raw.LOCAL_FIELDS[name]
        entry.local = raw.put(entry.local, at, width, value)
    return _build_keeping_lengths(archive)


def _zip_central(data: bytes, edits: Sequence[Edit]) -> bytes:
    archive = raw.parse(data)
    out = raw.build(archive)
    cd_offset = struct.unpack_from("<I", out, raw.find_eocd(out) + 16)[0]
    starts = _central_starts(out, cd_offset, len(archive.entries))
    buffer = bytearray(out)
    for index, name, value in edits:
        at, width = raw.CENTRAL_FIELDS[name]
        start = starts[index % len(starts)] + at
        buffer[start : start + width] = (value & ((1 << 8 * width) - 1)).to_bytes(width, "little")
    return bytes(buffer)


def _central_starts(data: bytes, at: int, count: int) -> list[int]:
    starts = []
    for _ in range(count):
        starts.append(at)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, at + 28)
        at += raw.CENTRAL_SIZE + name_len + extra_len + comment_len
    return starts


def _zip_eocd(data: bytes, edits: Sequence[Edit]) -> bytes:
    buffer = bytearray(data)
    eocd = raw.find_eocd(data)
    for name, value in edits:
        at, width = raw.EOCD_FIELDS[name]
        buffer[eocd + at : eocd + at + width] = (value & ((1 << 8 * width) - 1)).to_bytes(
            width, "little"
        )
    return bytes(buffer)


def _zip_huge(data: bytes, edits: Sequence[Edit]) -> bytes:
    archive = raw.parse(data)
    for index, which, value in edits:
        entry = archive.entries[index % len(archive.entries)]
        name = "size" if which == "size" else "compressed_size"
        at, width = raw.LOCAL_FIELDS[name]
        entry.local = raw.put(entry.local, at, width, value)
        at, width = raw.CENTRAL_FIELDS[name]
        entry.central = raw.put(entry.central, at, width, value)
    return raw.build(archive)


def _build_keeping_lengths(archive: raw.RawZip) -> bytes:
    """Like :func:`raw.build`, but local name/extra lengths keep any edited value."""
    out = bytearray(raw.build(archive))
    at = len(archive.prefix)
    for entry in archive.entries:
        out[at : at + raw.LOCAL_SIZE] = entry.local
        at += (
            raw.LOCAL_SIZE
            + len(entry.name)
            + len(entry.local_extra)
            + len(entry.payload)
            + len(entry.descriptor)
        )
    return bytes(out)


def _zip_names(data: bytes, edits: Sequence[Edit]) -> bytes:
    archive = raw.parse(data)
    for index, op, arg in edits:
        if not archive.entries:
            break
        i = index % len(archive.entries)
        entry = archive.entries[i]
        if op == "duplicate":  # another entry gets this one's name
            j = arg % len(archive.entries)
            archive.entries[j] = archive.entries[j].renamed(entry.name)
        elif op == "copy":  # the same entry twice
            archive.entries.insert(i + 1, entry)
        elif op == "rename":
            name = HOSTILE_NAMES[arg % len(HOSTILE_NAMES)]
            archive.entries[i] = entry.renamed(name.encode("utf-8", "surrogateescape"))
        elif op == "drop":
            del archive.entries[i]
    return raw.build(archive)


# ---------------------------------------------------------------- entry contents


def _edit_entry(
    data: bytes, choose: Callable[[list[str]], int | None], edit: Callable[[bytes], bytes]
) -> bytes:
    archive = raw.parse(data)
    index = choose(archive.names())
    if index is None:
        return data
    entry = archive.entries[index]
    archive.entries[index] = raw.with_content(entry, edit(raw.read_entry(entry)))
    return raw.build(archive)


def _set(buffer: bytearray, at: int, width: int, value: int, order: str = "little") -> None:
    if 0 <= at and at + width <= len(buffer):
        mask = (1 << (8 * width)) - 1
        buffer[at : at + width] = (value & mask).to_bytes(width, order)  # type: ignore[arg-type]


# AXML string pool header fields: offset from the pool chunk's start, width.
AXML_FIELDS: dict[str, tuple[int, int]] = {
    "chunk_type": (0, 2),
    "header_size": (2, 2),
    "chunk_size": (4, 4),
    "string_count": (8, 4),
    "style_count": (12, 4),
    "flags": (16, 4),
    "strings_start": (20, 4),
    "styles_start": (24, 4),
}
AXML_POOL = 8  # the string pool follows the 8-byte ResXMLTree_header


def _axml_edit(edits: Sequence[Edit]) -> Callable[[bytes], bytes]:
    def edit(content: bytes) -> bytes:
        buffer = bytearray(content)
        for name, index, value in edits:
            if name == "byte" and buffer:
                buffer[index % len(buffer)] = value & 0xFF
                continue
            if name in AXML_FIELDS:
                at, width = AXML_FIELDS[name]
                _set(buffer, AXML_POOL + at, width, value)
                continue
            count, _s, flags, strings_start = struct.unpack_from("<IIII", content, AXML_POOL + 8)
            header = struct.unpack_from("<H", content, AXML_POOL + 2)[0]
            if count == 0:
                continue
            slot = AXML_POOL + header + 4 * (index % count)
            if name == "offset":
                _set(buffer, slot, 4, value)
                continue
            (relative,) = struct.unpack_from("<I", content, slot)
            start = AXML_POOL + strings_start + relative
            if name == "length":  # the length prefix (u8 pair for UTF-8, u16 for UTF-16)
                _set(buffer, start, 1 if flags & 0x100 else 2, value)
            elif name == "char":  # a character of the string, past the length prefix
                _set(buffer, start + 2 + (value >> 16) % 16, 2, value & 0xFFFF)
        return bytes(buffer)

    return edit


def _axml(data: bytes, edits: Sequence[Edit]) -> bytes:
    def choose(names: list[str]) -> int | None:
        return names.index("AndroidManifest.xml") if "AndroidManifest.xml" in names else None

    return _edit_entry(data, choose, _axml_edit(edits))


PLIST_TRAILER: dict[str, tuple[int, int]] = {  # offset from the trailer's start, width
    "offset_size": (6, 1),
    "ref_size": (7, 1),
    "num_objects": (8, 8),
    "top_object": (16, 8),
    "offset_table_offset": (24, 8),
}


def _plist_edit(edits: Sequence[Edit]) -> Callable[[bytes], bytes]:
    def edit(content: bytes) -> bytes:
        if not content.startswith(b"bplist00") or len(content) < 40:
            return content
        buffer = bytearray(content)
        trailer = len(content) - 32
        offset_size, ref_size, count, _top, table = struct.unpack_from(">6xBBQQQ", content, trailer)
        for name, index, value in edits:
            if name == "byte":
                buffer[index % len(buffer)] = value & 0xFF
                continue
            if name in PLIST_TRAILER:
                at, width = PLIST_TRAILER[name]
                _set(buffer, trailer + at, width, value, "big")
                continue
            if count == 0 or offset_size == 0:
                continue
            slot = table + offset_size * (index % count)
            if name == "offset":  # an entry of the offset table
                _set(buffer, slot, offset_size, value, "big")
                continue
            obj = int.from_bytes(content[slot : slot + offset_size], "big")
            if name == "marker":  # an object's type and size byte
                _set(buffer, obj, 1, value)
            elif name == "ref":  # the first reference of an array or dict: cycles, bad indexes
                if obj < len(content) and content[obj] >> 4 in (0xA, 0xD):
                    _set(buffer, obj + 1, ref_size, value, "big")
        return bytes(buffer)

    return edit


def _plist(data: bytes, edits: Sequence[Edit]) -> bytes:
    def choose(names: list[str]) -> int | None:
        for i, name in enumerate(names):
            parts = name.split("/")
            if len(parts) == 3 and parts[0] == "Payload" and parts[2] == "Info.plist":
                return i
        return None

    return _edit_entry(data, choose, _plist_edit(edits))


DEX_FIELDS: dict[str, tuple[int, int]] = {
    "magic": (0, 8),
    "file_size": (32, 4),
    "header_size": (36, 4),
    "endian_tag": (40, 4),
    "map_off": (52, 4),
    "string_ids_size": (56, 4),
    "string_ids_off": (60, 4),
    "type_ids_size": (64, 4),
    "type_ids_off": (68, 4),
    "class_defs_size": (96, 4),
    "class_defs_off": (100, 4),
    "data_size": (104, 4),
    "data_off": (108, 4),
}


def _dex_edit(edits: Sequence[Edit]) -> Callable[[bytes], bytes]:
    def edit(content: bytes) -> bytes:
        buffer = bytearray(content)
        for name, index, value in edits:
            if name == "byte" and buffer:
                buffer[index % len(buffer)] = value & 0xFF
            elif name in DEX_FIELDS:
                at, width = DEX_FIELDS[name]
                _set(buffer, at, width, value)
            elif name in ("string_offset", "type_id", "class_type") and len(content) >= 0x70:
                size_at = {"string_offset": 56, "type_id": 64, "class_type": 96}[name]
                count, offset = struct.unpack_from("<II", content, size_at)
                stride = 32 if name == "class_type" else 4
                if count:
                    _set(buffer, offset + stride * (index % count), 4, value)
        return bytes(buffer)

    return edit


def _dex(data: bytes, edits: Sequence[Edit]) -> bytes:
    """``edits[0]`` is ``("entry", n)``: the n-th ``classes*.dex`` (modulo their number)."""
    (_entry, which), *changes = edits

    def choose(names: list[str]) -> int | None:
        dexes = [i for i, n in enumerate(names) if n.startswith("classes") and n.endswith(".dex")]
        return dexes[which % len(dexes)] if dexes else None

    return _edit_entry(data, choose, _dex_edit(changes))


APPLIERS: dict[str, Callable[[bytes, Sequence[Edit]], bytes]] = {
    "flip": _flip,
    "overwrite": _overwrite,
    "truncate": _truncate,
    "zip_local": _zip_local,
    "zip_central": _zip_central,
    "zip_eocd": _zip_eocd,
    "zip_huge": _zip_huge,
    "zip_names": _zip_names,
    "axml": _axml,
    "plist": _plist,
    "dex": _dex,
}
