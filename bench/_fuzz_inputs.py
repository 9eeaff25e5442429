"""Hypothesis strategies of :class:`~_mutations.Mutation` s, one per kind, and which
fixtures each kind applies to. Values lean on boundaries (0, 1, 0x7F, 0x80, the maxima
of each width, powers of two) half of the time and are uniform otherwise; positions lean
on the first and last few KiB of a file, where ZIP and DEX headers live."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

import _zipraw as raw  # noqa: I001 (bench/ is the script folder)
from _mutations import AXML_FIELDS, DEX_FIELDS, HOSTILE_NAMES, KINDS, PLIST_TRAILER, Mutation
from _zipraw import CENTRAL_FIELDS, EOCD_FIELDS, LOCAL_FIELDS

BOUNDARIES = (0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000)
#: ZIP compression methods (stored, deflate, deflate64, bzip2, LZMA, zstd, xz, PPMd, AES)
#: and general-purpose flags (encrypted, data descriptor, UTF-8 names).
ZIP_VALUES = (0, 8, 9, 12, 14, 93, 95, 98, 99, 0x0001, 0x0008, 0x0800, 0x0809)
BOUNDARIES_32 = (0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF, 1 << 30, 1 << 24)
BOUNDARIES_64 = (1 << 32, 1 << 40, 1 << 62, (1 << 63) - 1, (1 << 64) - 1)

value32 = st.one_of(st.sampled_from(BOUNDARIES + BOUNDARIES_32), st.integers(0, 0xFFFFFFFF))
zip_value = st.one_of(st.sampled_from(ZIP_VALUES), value32)
value64 = st.one_of(
    st.sampled_from(BOUNDARIES + BOUNDARIES_32 + BOUNDARIES_64), st.integers(0, (1 << 64) - 1)
)
#: A position in a file: near its start or its end (negative: from the end), or anywhere.
position = st.one_of(st.integers(0, 4096), st.integers(-4096, -1), st.integers(0, (1 << 32) - 1))
#: An entry or string index: small ones (the manifest and DEX files come first) half the time.
index = st.one_of(st.integers(0, 8), st.integers(0, 1 << 16))


def _edits(edit: Any, most: int = 4) -> Any:
    return st.lists(edit, min_size=1, max_size=most).map(tuple)


def _fields(fields: dict[str, tuple[int, int]]) -> Any:
    return st.sampled_from(sorted(fields))


STRATEGIES: dict[str, Any] = {
    "flip": _edits(st.tuples(position, st.integers(1, 255)), 8),
    "overwrite": _edits(st.tuples(position, st.sampled_from([1, 2, 4]), value32), 8),
    "truncate": st.tuples(st.integers(0, 1 << 32)).map(lambda edit: (edit,)),
    "zip_local": _edits(st.tuples(index, _fields(LOCAL_FIELDS), zip_value)),
    "zip_central": _edits(st.tuples(index, _fields(CENTRAL_FIELDS), zip_value)),
    "zip_eocd": _edits(st.tuples(_fields(EOCD_FIELDS), value32), 2),
    "zip_huge": _edits(
        st.tuples(
            index,
            st.sampled_from(["size", "compressed_size"]),
            st.one_of(st.sampled_from(BOUNDARIES_32), st.integers(1 << 20, 0xFFFFFFFF)),
        ),
        2,
    ),
    "zip_names": _edits(
        st.tuples(
            index,
            st.sampled_from(["duplicate", "copy", "rename", "drop"]),
            st.integers(0, max(1 << 16, len(HOSTILE_NAMES))),
        ),
        3,
    ),
    "axml": _edits(
        st.tuples(
            st.sampled_from([*sorted(AXML_FIELDS), "offset", "length", "char", "byte"]),
            index,
            value32,
        )
    ),
    "plist": _edits(
        st.tuples(
            st.sampled_from([*sorted(PLIST_TRAILER), "offset", "marker", "ref", "byte"]),
            index,
            value64,
        )
    ),
    "dex": st.tuples(
        st.integers(0, 3),
        _edits(
            st.tuples(
                st.sampled_from(
                    [*sorted(DEX_FIELDS), "string_offset", "type_id", "class_type", "byte"]
                ),
                st.integers(0, 1 << 20),
                value64,
            )
        ),
    ).map(lambda pair: (("entry", pair[0]), *pair[1])),
}
assert set(STRATEGIES) == set(KINDS)


def mutations(kind: str) -> Any:
    """A strategy of :class:`Mutation` s of ``kind``."""
    return STRATEGIES[kind].map(lambda edits: Mutation(kind, edits))


def applies(kind: str, name: str, data: bytes) -> bool:
    """Whether mutations of ``kind`` reach anything in the fixture ``name``."""
    if kind in ("flip", "overwrite", "truncate", "zip_eocd"):
        return True
    try:
        names = raw.parse(data).names()
    except raw.NotARawZip:
        return False
    if kind == "axml":
        return "AndroidManifest.xml" in names
    if kind == "plist":
        return any(n.startswith("Payload/") and n.endswith(".app/Info.plist") for n in names)
    if kind == "dex":
        return any(n.startswith("classes") and n.endswith(".dex") for n in names)
    return bool(names)


def inputs(fixtures: dict[str, bytes], kind: str) -> Any:
    """A strategy of (fixture name, mutation) for the fixtures ``kind`` applies to."""
    names = sorted(name for name, data in fixtures.items() if applies(kind, name, data))
    if not names:
        raise ValueError(f"no fixture for mutations of kind {kind}")
    return st.tuples(st.sampled_from(names), mutations(kind))
