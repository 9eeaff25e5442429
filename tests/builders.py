"""Builders that let tests make their own app files instead of hunting for real ones.

* :func:`axml` encodes an Android binary XML document (what ``AndroidManifest.xml`` is
  inside an APK) from a small :class:`Element` tree; :func:`manifest` and
  :func:`component` build the usual trees.
* :func:`dex` writes a minimal DEX file that defines the given classes and strings.
* :func:`arsc` writes a ``resources.arsc`` holding string resources (the app label).
* :func:`apk` / :func:`apk_bytes` make an unsigned APK from a manifest, DEX files and
  extra entries; :func:`sign_v1` adds a v1 (JAR) signature by a :func:`certificate`.
* :func:`zip_bytes` writes a ZIP in memory, duplicate entry names allowed;
  :func:`zeros_zip` writes a zip bomb to disk in a fraction of a second.
* :func:`mutations` is a hypothesis strategy of damaged copies of some bytes.

The encoders follow ``ResourceTypes.h`` (AXML, ARSC) and the "Dalvik executable format"
reference (DEX). ``tests/vetting/test_dex.py``, ``test_arsc.py`` and
``test_android_rules.py`` check their output against androguard's parsers.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ANDROID_NS = "http://schemas.android.com/apk/res/android"
NO_INDEX = 0xFFFFFFFF

# ---------------------------------------------------------------- AXML

_RES_STRING_POOL = 0x0001
_RES_XML = 0x0003
_XML_START_NAMESPACE = 0x0100
_XML_END_NAMESPACE = 0x0101
_XML_START_ELEMENT = 0x0102
_XML_END_ELEMENT = 0x0103
_TYPE_REFERENCE = 0x01
_TYPE_STRING = 0x03
_TYPE_INT_DEC = 0x10
_TYPE_INT_BOOLEAN = 0x12


@dataclass
class Element:
    """One XML element. Attribute names are ``"android:name"`` (android namespace) or
    bare (``"package"``, no namespace). Values: ``str`` (a string; ``"@7f010000"`` is a
    resource reference), ``bool`` or ``int``."""

    tag: str
    attrs: dict[str, str | bool | int] = field(default_factory=dict)
    children: list[Element] = field(default_factory=list)


def _walk(element: Element) -> Iterable[Element]:
    yield element
    for child in element.children:
        yield from _walk(child)


def _split_name(name: str) -> tuple[bool, str]:
    """(in the android namespace?, local name)."""
    prefix, _, local = name.rpartition(":")
    if prefix not in ("", "android"):
        raise ValueError(f"only the android: namespace prefix is supported, not {name!r}")
    return prefix == "android", local


def _is_reference(value: str | bool | int) -> bool:
    if not isinstance(value, str) or not value.startswith("@") or len(value) < 2:
        return False
    try:
        int(value[1:], 16)
    except ValueError:
        return False
    return True


class _Pool:
    def __init__(self) -> None:
        self.strings: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, text: str) -> int:
        if text not in self._index:
            self._index[text] = len(self.strings)
            self.strings.append(text)
        return self._index[text]

    def chunk(self) -> bytes:
        """A UTF-16 ResStringPool chunk (no styles)."""
        offsets: list[int] = []
        data = bytearray()
        for text in self.strings:
            offsets.append(len(data))
            units = text.encode("utf-16-le")
            count = len(units) // 2
            if count > 0x7FFF:
                data += struct.pack("<HH", 0x8000 | (count >> 16), count & 0xFFFF)
            else:
                data += struct.pack("<H", count)
            data += units + b"\x00\x00"
        data += b"\x00" * (-len(data) % 4)
        header_size = 28
        strings_start = header_size + 4 * len(offsets)
        size = strings_start + len(data)
        header = struct.pack(
            "<HHIIIIII",
            _RES_STRING_POOL,
            header_size,
            size,
            len(offsets),
            0,
            0,
            strings_start,
            0,
        )
        return header + struct.pack(f"<{len(offsets)}I", *offsets) + bytes(data)


def _node(kind: int, body: bytes) -> bytes:
    """A ResXMLTree_node chunk: header, line number 1, no comment, then ``body``."""
    return struct.pack("<HHIII", kind, 16, 16 + len(body), 1, NO_INDEX) + body


def axml(root: Element) -> bytes:
    """Encode ``root`` as Android binary XML.

    Chunks: RES_XML_TYPE header, a UTF-16 string pool, START_NAMESPACE (android), the
    elements (START_ELEMENT / END_ELEMENT, depth first), END_NAMESPACE. There is no
    resource map, so parsers take attribute names from the string pool. Strings are
    TYPE_STRING with their raw value, booleans TYPE_INT_BOOLEAN (0xFFFFFFFF / 0), ints
    TYPE_INT_DEC and ``"@<hex>"`` TYPE_REFERENCE.
    """
    pool = _Pool()
    prefix, uri = pool.add("android"), pool.add(ANDROID_NS)
    for element in _walk(root):  # names first, values after: any order is valid
        pool.add(element.tag)
        for name in element.attrs:
            pool.add(_split_name(name)[1])
    for element in _walk(root):
        for value in element.attrs.values():
            if isinstance(value, str) and not _is_reference(value):
                pool.add(value)

    def encode(element: Element) -> bytes:
        attributes = bytearray()
        for name, value in element.attrs.items():
            android, local = _split_name(name)
            raw = NO_INDEX
            if isinstance(value, bool):
                kind, data = _TYPE_INT_BOOLEAN, 0xFFFFFFFF if value else 0
            elif isinstance(value, int):
                kind, data = _TYPE_INT_DEC, value & 0xFFFFFFFF
            elif _is_reference(value):
                kind, data = _TYPE_REFERENCE, int(value[1:], 16)
            else:
                kind = _TYPE_STRING
                raw = data = pool.add(value)
            attributes += struct.pack(
                "<IIIHBBI", uri if android else NO_INDEX, pool.add(local), raw, 8, 0, kind, data
            )
        tag = pool.add(element.tag)
        # ns, name, attributeStart, attributeSize, attributeCount, id, class, style index
        start = struct.pack("<IIHHHHHH", NO_INDEX, tag, 20, 20, len(element.attrs), 0, 0, 0)
        out = _node(_XML_START_ELEMENT, start + bytes(attributes))
        out += b"".join(encode(child) for child in element.children)
        return out + _node(_XML_END_ELEMENT, struct.pack("<II", NO_INDEX, tag))

    body = (
        _node(_XML_START_NAMESPACE, struct.pack("<II", prefix, uri))
        + encode(root)
        + _node(_XML_END_NAMESPACE, struct.pack("<II", prefix, uri))
    )
    strings = pool.chunk()
    return struct.pack("<HHI", _RES_XML, 8, 8 + len(strings) + len(body)) + strings + body


# ---------------------------------------------------------------- resources.arsc

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


# ---------------------------------------------------------------- DEX

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


# ---------------------------------------------------------------- APK and ZIP


def manifest(
    package: str = "com.example.app",
    *,
    version_code: int = 1,
    version_name: str = "1.0",
    min_sdk: int = 21,
    target_sdk: int = 34,
    permissions: Iterable[str] = (),
    application_attrs: Mapping[str, str | bool | int] | None = None,
    components: Iterable[Element] = (),
    manifest_attrs: Mapping[str, str | bool | int] | None = None,
) -> Element:
    """``<manifest>`` with ``<uses-sdk>``, ``<uses-permission>`` for each permission and an
    ``<application>`` holding ``components``. ``manifest_attrs`` adds attributes to
    ``<manifest>`` itself (``{"split": "config.arm64_v8a"}`` for a split APK)."""
    attrs: dict[str, str | bool | int] = {
        "android:versionCode": version_code,
        "android:versionName": version_name,
        "package": package,
    }
    attrs.update(manifest_attrs or {})
    children = [
        Element(
            "uses-sdk", {"android:minSdkVersion": min_sdk, "android:targetSdkVersion": target_sdk}
        ),
        *(Element("uses-permission", {"android:name": name}) for name in permissions),
        Element("application", dict(application_attrs or {}), list(components)),
    ]
    return Element("manifest", attrs, children)


def component(
    kind: str,
    name: str,
    *,
    actions: Iterable[str] = (),
    categories: Iterable[str] = (),
    **attrs: str | bool | int,
) -> Element:
    """``<activity android:name=...>`` (or service, receiver...) with an intent filter for
    ``actions`` if any. Keyword attributes become ``android:`` attributes
    (``exported=True``, ``permission="..."``)."""
    element = Element(kind, {"android:name": name, **{f"android:{k}": v for k, v in attrs.items()}})
    actions, categories = list(actions), list(categories)
    if actions or categories:
        element.children.append(
            Element(
                "intent-filter",
                {},
                [Element("action", {"android:name": a}) for a in actions]
                + [Element("category", {"android:name": c}) for c in categories],
            )
        )
    return element


def zip_bytes(
    entries: Iterable[tuple[str, bytes]], *, compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    """A ZIP archive of ``entries`` in order. Duplicate names are written as given
    (:mod:`zipfile` warns about them; the warning is silenced)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", compression) as archive:
        warnings.simplefilter("ignore", UserWarning)
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            archive.writestr(info, data)
    return buffer.getvalue()


def apk_bytes(
    manifest: Element,
    *,
    dex_files: Mapping[str, bytes] | None = None,
    extra: Mapping[str, bytes] | None = None,
) -> bytes:
    """The bytes of an unsigned APK: ``AndroidManifest.xml`` (from :func:`axml`), the DEX
    files by entry name (default: an empty ``classes.dex``) and ``extra`` entries."""
    dex_files = {"classes.dex": dex([])} if dex_files is None else dex_files
    entries = [("AndroidManifest.xml", axml(manifest)), *dex_files.items(), *(extra or {}).items()]
    return zip_bytes(entries)


def apk(
    path: Path,
    manifest: Element,
    *,
    dex_files: Mapping[str, bytes] | None = None,
    extra: Mapping[str, bytes] | None = None,
) -> Path:
    """Write :func:`apk_bytes` to ``path`` and return ``path``."""
    path.write_bytes(apk_bytes(manifest, dex_files=dex_files, extra=extra))
    return path


def zeros_zip(path: Path, name: str, size: int) -> Path:
    """Write a ZIP whose one deflated entry ``name`` inflates to ``size`` zero bytes: a zip
    bomb, made in a fraction of a second and a few MiB of memory.

    Deflating hundreds of MiB takes seconds, so one MiB of zeros is deflated once with a
    full flush (which resets the compressor, making the output for every further MiB
    identical) and that block is written ``size // 2**20`` times. The stream and the CRC
    are genuine: :mod:`zipfile` inflates the entry to ``size`` zeros and verifies it.
    """
    block = 1 << 20
    if size % block:
        raise ValueError("size must be a whole number of MiB")
    zeros = bytes(block)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush()
    crc = 0
    for _ in range(size // block):
        crc = zlib.crc32(zeros, crc)
    compressed = len(piece) * (size // block) + len(tail)
    encoded = name.encode()
    # version 20, no flags, method 8 (deflate), DOS time/date 0, crc, sizes, name length
    common = struct.pack("<HHHHIIIH", 0, 8, 0, 0x21, crc, compressed, size, len(encoded))
    local = struct.pack("<IH", 0x04034B50, 20) + common + struct.pack("<H", 0) + encoded
    central = (
        struct.pack("<IHH", 0x02014B50, 20, 20)
        + common
        + struct.pack("<HHHHII", 0, 0, 0, 0, 0, 0)
        + encoded
    )
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + compressed, 0)
    with path.open("wb") as out:
        out.write(local)
        for _ in range(size // block):
            out.write(piece)
        out.write(tail + central + end)
    return path


# ---------------------------------------------------------------- fuzzing


def mutations(base: bytes, *, hot: int = 0x70) -> Any:
    """A hypothesis strategy of damaged copies of ``base``: up to 8 edits, each a byte or
    a little-endian u16/u32 overwritten with a random or boundary value (half of them
    within the first ``hot`` bytes, where headers live), and maybe a truncation."""
    from hypothesis import strategies as st

    size = len(base)
    position = st.one_of(st.integers(0, min(hot, size) - 1), st.integers(0, size - 1))
    width = st.sampled_from([1, 2, 4])
    value = st.one_of(
        st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0xFFFFFFFF, size, size + 1, size // 2]),
        st.integers(0, 0xFFFFFFFF),
    )

    @st.composite
    def damaged(draw: Any) -> bytes:
        data = bytearray(base)
        edits = draw(st.lists(st.tuples(position, width, value), min_size=1, max_size=8))
        for at, n, number in edits:
            data[at : at + n] = (number & ((1 << 8 * n) - 1)).to_bytes(n, "little")
        del data[size:]
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
        return bytes(data)

    return damaged()


# ---------------------------------------------------------------- v1 (JAR) signing


def certificate(
    common_name: str = "Example Release", organization: str = "Example", *, weak: bool = False
) -> tuple[Any, Any]:
    """A self-signed RSA certificate and its key (``cryptography`` objects). ``weak`` signs
    the certificate with SHA-1 instead of SHA-256 (built with asn1crypto, since
    ``cryptography`` refuses to make SHA-1 signatures for certificates).
    ``("Android Debug", "Android")`` is the subject of the SDK's debug certificate."""
    import datetime

    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    name = asn1_x509.Name.build(
        {"country_name": "US", "organization_name": organization, "common_name": common_name}
    )
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    algorithm = {"algorithm": "sha1_rsa" if weak else "sha256_rsa"}
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": 0x1234,
            "signature": algorithm,
            "issuer": name,
            "validity": {
                "not_before": asn1_x509.Time({"utc_time": start}),
                "not_after": asn1_x509.Time({"utc_time": start + datetime.timedelta(days=3650)}),
            },
            "subject": name,
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(public),
        }
    )
    hash_algorithm = hashes.SHA1() if weak else hashes.SHA256()  # noqa: S303 (on purpose)
    signature = key.sign(tbs.dump(), padding.PKCS1v15(), hash_algorithm)
    der = asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature}
    ).dump()
    return x509.load_der_x509_certificate(der), key


def sign_v1(apk: bytes, cert: Any, key: Any) -> bytes:
    """``apk`` with a v1 (JAR) signature by ``cert``/``key`` added: META-INF/MANIFEST.MF
    with a SHA-256 digest per entry, CERT.SF with the digests of those sections and
    CERT.RSA, a detached PKCS#7 signature of CERT.SF (what androguard verifies)."""
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    def digest(data: bytes) -> str:
        return base64.b64encode(hashlib.sha256(data).digest()).decode()

    with zipfile.ZipFile(io.BytesIO(apk)) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    main = b"Manifest-Version: 1.0\r\nCreated-By: appwarden tests\r\n\r\n"
    sections = [
        f"Name: {name}\r\nSHA-256-Digest: {digest(data)}\r\n\r\n".encode() for name, data in entries
    ]
    manifest_mf = main + b"".join(sections)
    signature_file = (
        f"Signature-Version: 1.0\r\nSHA-256-Digest-Manifest: {digest(manifest_mf)}\r\n\r\n"
    ).encode() + b"".join(
        f"Name: {name}\r\nSHA-256-Digest: {digest(section)}\r\n\r\n".encode()
        for (name, _), section in zip(entries, sections, strict=True)
    )
    block = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(signature_file)
        .add_signer(cert, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature])
    )
    return zip_bytes(
        [
            ("META-INF/MANIFEST.MF", manifest_mf),
            ("META-INF/CERT.SF", signature_file),
            ("META-INF/CERT.RSA", block),
            *entries,
        ]
    )
