"""Resolve one string resource (the app label) from ``resources.arsc``.

Written by hand on purpose: androguard's ``ARSCParser`` decodes every type, entry and
configuration of the table up front (over 200 ms on a 3 MB app) to answer a question
that needs one entry. This walks the chunk headers, skips everything that is not the
wanted type, and decodes one string. Layout: ``ResourceTypes.h`` in the Android
framework (ResTable_header, ResStringPool_header, ResTable_package, ResTable_type,
ResTable_entry, Res_value).
"""

from __future__ import annotations

import struct

_RES_STRING_POOL = 0x0001
_RES_TABLE = 0x0002
_RES_TABLE_PACKAGE = 0x0200
_RES_TABLE_TYPE = 0x0201
_UTF8_FLAG = 1 << 8
_NO_ENTRY = 0xFFFFFFFF
_TYPE_REFERENCE = 0x01
_TYPE_STRING = 0x03
_FLAG_COMPLEX = 0x0001
_FLAG_COMPACT = 0x0008
_TYPE_FLAG_SPARSE = 0x01
_TYPE_FLAG_OFFSET16 = 0x02


class ArscError(ValueError):
    """The resource table is damaged where the label should be."""


def _chunk(data: bytes, offset: int) -> tuple[int, int, int]:
    if offset + 8 > len(data):
        raise ArscError("chunk header past the end of resources.arsc")
    kind, header_size, size = struct.unpack_from("<HHI", data, offset)
    if size < 8 or offset + size > len(data) or header_size > size:
        raise ArscError("chunk size past the end of resources.arsc")
    return kind, header_size, size


def _pool_string(data: bytes, pool: int, index: int) -> str:
    _kind, header_size, size = _chunk(data, pool)
    count, _styles, flags, strings_start = struct.unpack_from("<IIII", data, pool + 8)
    if index >= count:
        raise ArscError("string index past the string pool")
    (relative,) = struct.unpack_from("<I", data, pool + header_size + 4 * index)
    at = pool + strings_start + relative
    if at >= pool + size:
        raise ArscError("string offset past the string pool")
    if flags & _UTF8_FLAG:
        at += 2 if data[at] & 0x80 else 1  # length in UTF-16 units, skipped
        length = data[at]
        if length & 0x80:
            length = ((length & 0x7F) << 8) | data[at + 1]
            at += 1
        return data[at + 1 : at + 1 + length].decode("utf-8", "replace")
    (length,) = struct.unpack_from("<H", data, at)
    at += 2
    if length & 0x8000:
        (low,) = struct.unpack_from("<H", data, at)
        length = ((length & 0x7FFF) << 16) | low
        at += 2
    return data[at : at + 2 * length].decode("utf-16-le", "replace")


def _entry_offset(
    data: bytes, chunk: int, header_size: int, flags: int, count: int, entry: int
) -> int:
    table = chunk + header_size
    if flags & _TYPE_FLAG_SPARSE:
        for i in range(count):
            index, offset = struct.unpack_from("<HH", data, table + 4 * i)
            if index == entry:
                return int(offset) * 4
        return _NO_ENTRY
    if entry >= count:
        return _NO_ENTRY
    if flags & _TYPE_FLAG_OFFSET16:
        (offset,) = struct.unpack_from("<H", data, table + 2 * entry)
        return _NO_ENTRY if offset == 0xFFFF else int(offset) * 4
    (offset,) = struct.unpack_from("<I", data, table + 4 * entry)
    return int(offset)


def _value_in_type(data: bytes, chunk: int, entry: int) -> tuple[int, int, bool] | None:
    """(data type, data, default config?) of ``entry`` in the ResTable_type at ``chunk``."""
    _kind, header_size, size = _chunk(data, chunk)
    _tid, flags, _res, count, entries_start = struct.unpack_from("<BBHII", data, chunk + 8)
    (config_size,) = struct.unpack_from("<I", data, chunk + 20)
    config = data[chunk + 24 : chunk + 20 + config_size]
    offset = _entry_offset(data, chunk, header_size, flags, count, entry)
    if offset == _NO_ENTRY:
        return None
    at = chunk + entries_start + offset
    if at + 16 > chunk + size:
        raise ArscError("resource entry past its type chunk")
    entry_size, entry_flags = struct.unpack_from("<HH", data, at)
    if entry_flags & _FLAG_COMPACT:
        return entry_flags >> 8, struct.unpack_from("<I", data, at + 4)[0], not any(config)
    if entry_flags & _FLAG_COMPLEX:
        return None
    _vsize, _zero, data_type, value = struct.unpack_from("<HBBI", data, at + entry_size)
    return data_type, value, not any(config)


def resolve_string(data: bytes, resource_id: int) -> str | None:
    """The string value of ``resource_id`` (default configuration preferred), or None.

    Raises :class:`ArscError` for any damage met on the way; field reads inside chunks are
    bounded by Python itself (``struct.error``, ``IndexError``), which are turned into it.
    """
    try:
        return _resolve(data, resource_id, 0)
    except (struct.error, IndexError) as err:
        raise ArscError(f"resources.arsc is damaged: {err}") from None


def _resolve(data: bytes, resource_id: int, _depth: int) -> str | None:
    if _depth > 4:
        return None
    kind, header_size, size = _chunk(data, 0)
    if kind != _RES_TABLE:
        raise ArscError("resources.arsc does not start with a resource table")
    package_id, type_id, entry = resource_id >> 24, (resource_id >> 16) & 0xFF, resource_id & 0xFFFF
    global_pool: int | None = None
    found: tuple[int, int] | None = None
    at = header_size
    while at < size:
        chunk_kind, chunk_header, chunk_size = _chunk(data, at)
        if chunk_kind == _RES_STRING_POOL and global_pool is None:
            global_pool = at
        elif chunk_kind == _RES_TABLE_PACKAGE:
            (pid,) = struct.unpack_from("<I", data, at + 8)
            if pid == package_id:
                found = _find_in_package(data, at, chunk_header, chunk_size, type_id, entry)
        at += chunk_size
    if found is None or global_pool is None:
        return None
    data_type, value = found
    if data_type == _TYPE_STRING:
        return _pool_string(data, global_pool, value)
    if data_type == _TYPE_REFERENCE and value:
        return _resolve(data, value, _depth + 1)
    return None


def _find_in_package(
    data: bytes, package: int, header_size: int, size: int, type_id: int, entry: int
) -> tuple[int, int] | None:
    fallback: tuple[int, int] | None = None
    at = package + header_size
    while at < package + size:
        kind, _header, chunk_size = _chunk(data, at)
        if kind == _RES_TABLE_TYPE and data[at + 8] == type_id:
            value = _value_in_type(data, at, entry)
            if value is not None:
                if value[2]:
                    return value[0], value[1]
                fallback = fallback or (value[0], value[1])
        at += chunk_size
    return fallback
