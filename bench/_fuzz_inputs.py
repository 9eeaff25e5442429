"""Hypothesis strategies of (fixture, :class:`~_mutations.Mutation`) for each kind.

Values lean on boundaries (0, 1, 0x7F, 0x80, the maxima of each width, powers of two,
ZIP compression methods and flags) half of the time and are uniform otherwise. Positions
lean on the first and last few KiB of a file, where ZIP and DEX headers live. Entry
indexes lean on the entries vetting reads (the manifest, DEX files, the resource table,
signatures, nested code, Info.plist, the provisioning profile and the main executable),
and string or object indexes stay within the tables of the fixture drawn.
"""

from __future__ import annotations

import functools
import re
import struct
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

import _zipraw as raw  # noqa: I001 (bench/ is the script folder)
from _mutations import AXML_FIELDS, DEX_FIELDS, KINDS, PLIST_TRAILER, Mutation
from _zipraw import CENTRAL_FIELDS, EOCD_FIELDS, LOCAL_FIELDS

BOUNDARIES = (0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000)
BOUNDARIES_32 = (0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF, 1 << 30, 1 << 24)
BOUNDARIES_64 = (1 << 32, 1 << 40, 1 << 62, (1 << 63) - 1, (1 << 64) - 1)
#: ZIP compression methods (stored, deflate, deflate64, bzip2, LZMA, zstd, xz, PPMd, AES)
#: and general-purpose flags (encrypted, data descriptor, UTF-8 names).
ZIP_METHODS = (0, 8, 9, 12, 14, 93, 95, 98, 99)
ZIP_FLAGS = (0x0001, 0x0008, 0x0800, 0x0809, 0x0040, 0x2000)
INTERESTING = re.compile(
    r"^(AndroidManifest\.xml|classes\d*\.dex|resources\.arsc|META-INF/.*\.(RSA|DSA|EC|SF|MF)"
    r"|.*\.(apk|dex|jar)|Payload/[^/]+\.app/(Info\.plist|embedded\.mobileprovision"
    r"|PrivacyInfo\.xcprivacy|[^/.]+))$"
)

value32 = st.one_of(st.sampled_from(BOUNDARIES + BOUNDARIES_32), st.integers(0, 0xFFFFFFFF))
zip_method = st.one_of(st.sampled_from(ZIP_METHODS), st.integers(0, 0xFFFF))
zip_flags = st.one_of(st.sampled_from(ZIP_FLAGS), st.integers(0, 0xFFFF))
value64 = st.one_of(
    st.sampled_from(BOUNDARIES + BOUNDARIES_32 + BOUNDARIES_64), st.integers(0, (1 << 64) - 1)
)
#: A position in a file: near its start or its end (negative: from the end), or anywhere.
position = st.one_of(st.integers(0, 4096), st.integers(-4096, -1), st.integers(0, (1 << 32) - 1))


@dataclass(frozen=True)
class Facts:
    """What the strategies aim at in one fixture."""

    entries: int = 0
    interesting: tuple[int, ...] = ()
    strings: int = 0  # in the manifest's string pool
    objects: int = 0  # in Info.plist
    dex_files: int = 0


@functools.lru_cache(maxsize=64)
def facts_of(data: bytes) -> Facts:
    try:
        archive = raw.parse(data)
    except raw.NotARawZip:
        return Facts()
    names = archive.names()
    strings = objects = 0
    for entry, name in zip(archive.entries, names, strict=True):
        try:
            if name == "AndroidManifest.xml":
                strings = struct.unpack_from("<I", raw.read_entry(entry), 16)[0]
            elif re.fullmatch(r"Payload/[^/]+\.app/Info\.plist", name):
                objects = struct.unpack_from(">Q", raw.read_entry(entry)[-32:], 8)[0]
        except (raw.NotARawZip, struct.error, ValueError):
            continue
    return Facts(
        entries=len(names),
        interesting=tuple(i for i, name in enumerate(names) if INTERESTING.match(name)),
        strings=min(strings, 1 << 20),
        objects=min(objects, 1 << 20),
        dex_files=sum(1 for n in names if re.fullmatch(r"classes\d*\.dex", n)),
    )


def _zip_edit(entry: Any, fields: dict[str, tuple[int, int]]) -> Any:
    """(entry, field, value): a method or flags from their own lists a third of the time."""
    return st.one_of(
        st.tuples(entry, st.just("method"), zip_method),
        st.tuples(entry, st.just("flags"), zip_flags),
        st.tuples(entry, _fields(fields), value32),
    )


def _edits(edit: Any, most: int = 4) -> Any:
    return st.lists(edit, min_size=1, max_size=most).map(tuple)


def _fields(fields: dict[str, tuple[int, int]]) -> Any:
    return st.sampled_from(sorted(fields))


def _below(count: int) -> Any:
    """An index into a table of ``count`` items, or past it now and then."""
    inside = st.integers(0, max(count - 1, 0))
    return st.one_of(inside, inside, st.integers(0, 1 << 20))


def _entry(facts: Facts) -> Any:
    anywhere = st.integers(0, max(facts.entries - 1, 0))
    return (
        st.one_of(st.sampled_from(facts.interesting), anywhere) if facts.interesting else anywhere
    )


def edits_of(kind: str, facts: Facts) -> Any:
    """A strategy of the edits of a mutation of ``kind`` aimed at a fixture with ``facts``."""
    entry = _entry(facts)
    if kind == "flip":
        return _edits(st.tuples(position, st.integers(1, 255)), 8)
    if kind == "overwrite":
        return _edits(st.tuples(position, st.sampled_from([1, 2, 4]), value32), 8)
    if kind == "truncate":
        return st.tuples(st.integers(0, 1 << 32)).map(lambda edit: (edit,))
    if kind == "zip_local":
        return _edits(_zip_edit(entry, LOCAL_FIELDS))
    if kind == "zip_central":
        return _edits(_zip_edit(entry, CENTRAL_FIELDS))
    if kind == "zip_eocd":
        return _edits(st.tuples(_fields(EOCD_FIELDS), value32), 2)
    if kind == "zip_huge":
        huge = st.one_of(st.sampled_from(BOUNDARIES_32), st.integers(1 << 20, 0xFFFFFFFF))
        return _edits(st.tuples(entry, st.sampled_from(["size", "compressed_size"]), huge), 2)
    if kind == "zip_names":
        ops = st.sampled_from(["duplicate", "copy", "rename", "drop"])
        return _edits(st.tuples(entry, ops, st.integers(0, 1 << 16)), 3)
    if kind == "axml":
        fields = st.sampled_from([*sorted(AXML_FIELDS), "offset", "length", "char", "byte"])
        return _edits(st.tuples(fields, _below(facts.strings), value32))
    if kind == "plist":
        fields = st.sampled_from([*sorted(PLIST_TRAILER), "offset", "marker", "ref", "byte"])
        return _edits(st.tuples(fields, _below(facts.objects), value64))
    if kind == "dex":
        fields = st.sampled_from(
            [*sorted(DEX_FIELDS), "string_offset", "type_id", "class_type", "byte"]
        )
        changes = _edits(st.tuples(fields, st.integers(0, 1 << 20), value64))
        which = st.integers(0, max(facts.dex_files - 1, 0))
        return st.tuples(which, changes).map(lambda pair: (("entry", pair[0]), *pair[1]))
    raise ValueError(f"unknown mutation kind {kind!r} (known: {', '.join(KINDS)})")


def applies(kind: str, facts: Facts) -> bool:
    """Whether mutations of ``kind`` reach anything in a fixture with ``facts``."""
    if kind in ("flip", "overwrite", "truncate", "zip_eocd"):
        return True
    if kind == "axml":
        return facts.strings > 0
    if kind == "plist":
        return facts.objects > 0
    if kind == "dex":
        return facts.dex_files > 0
    return facts.entries > 0


def inputs(fixtures: dict[str, bytes], kind: str) -> Any:
    """A strategy of (fixture name, mutation) over the fixtures ``kind`` applies to."""
    facts = {name: facts_of(data) for name, data in sorted(fixtures.items())}
    names = [name for name, f in facts.items() if applies(kind, f)]
    if not names:
        raise ValueError(f"no fixture for mutations of kind {kind}")
    return st.sampled_from(names).flatmap(
        lambda name: edits_of(kind, facts[name]).map(lambda edits: (name, Mutation(kind, edits)))
    )
