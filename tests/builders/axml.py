"""Android binary XML (AXML): encode an :class:`Element` tree, and build manifest trees."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ANDROID_NS = "http://schemas.android.com/apk/res/android"
NO_INDEX = 0xFFFFFFFF

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
