"""A ZIP archive taken apart into its raw records, edited, and put back together.

The fuzzer needs archives that :mod:`zipfile` refuses to write: duplicate names, names
that climb out of their folder, headers that disagree with each other. This reads the
end-of-central-directory record, the central directory and each local header, keeps every
entry's compressed bytes as they are, and writes the archive again with fresh offsets.
The bytes between the last entry and the central directory (an APK's signing block) are
kept. Layout: PKWARE's APPNOTE.TXT, sections 4.3.7 (local header), 4.3.12 (central
directory header) and 4.3.16 (end of central directory).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field, replace

EOCD_MAGIC = b"PK\x05\x06"
CENTRAL_MAGIC = b"PK\x01\x02"
LOCAL_MAGIC = b"PK\x03\x04"
EOCD_SIZE = 22
CENTRAL_SIZE = 46
LOCAL_SIZE = 30
DESCRIPTOR_FLAG = 0x08

# field -> (offset in the record, width in bytes)
LOCAL_FIELDS: dict[str, tuple[int, int]] = {
    "signature": (0, 4),
    "version": (4, 2),
    "flags": (6, 2),
    "method": (8, 2),
    "crc": (14, 4),
    "compressed_size": (18, 4),
    "size": (22, 4),
    "name_length": (26, 2),
    "extra_length": (28, 2),
}
CENTRAL_FIELDS: dict[str, tuple[int, int]] = {
    "signature": (0, 4),
    "version_needed": (6, 2),
    "flags": (8, 2),
    "method": (10, 2),
    "crc": (16, 4),
    "compressed_size": (20, 4),
    "size": (24, 4),
    "name_length": (28, 2),
    "extra_length": (30, 2),
    "comment_length": (32, 2),
    "disk_start": (34, 2),
    "external_attributes": (38, 4),
    "local_offset": (42, 4),
}
EOCD_FIELDS: dict[str, tuple[int, int]] = {
    "signature": (0, 4),
    "disk": (4, 2),
    "cd_disk": (6, 2),
    "disk_entries": (8, 2),
    "total_entries": (10, 2),
    "cd_size": (12, 4),
    "cd_offset": (16, 4),
    "comment_length": (20, 2),
}


class NotARawZip(ValueError):
    """The bytes are not a plain (non-ZIP64, single-disk) archive this module can take apart."""


@dataclass
class RawEntry:
    """One entry: its central record (fixed part), name, extra and comment, its local
    header's fixed part and extra, the compressed payload and any data descriptor."""

    central: bytes
    name: bytes
    central_extra: bytes
    comment: bytes
    local: bytes
    local_extra: bytes
    payload: bytes
    descriptor: bytes = b""

    @property
    def method(self) -> int:
        return int(struct.unpack_from("<H", self.central, 10)[0])

    def renamed(self, name: bytes) -> RawEntry:
        return replace(self, name=name)


@dataclass
class RawZip:
    entries: list[RawEntry]
    #: Bytes between the last entry and the central directory (the APK signing block).
    gap: bytes = b""
    comment: bytes = b""
    prefix: bytes = field(default=b"")

    def names(self) -> list[str]:
        return [e.name.decode("utf-8", "replace") for e in self.entries]

    def index(self, name: str) -> int:
        return self.names().index(name)


def put(record: bytes, at: int, width: int, value: int) -> bytes:
    """``record`` with the little-endian field at ``at`` set to ``value`` (masked to fit)."""
    mask = (1 << (8 * width)) - 1
    return record[:at] + (value & mask).to_bytes(width, "little") + record[at + width :]


def find_eocd(data: bytes) -> int:
    at = data.rfind(EOCD_MAGIC, max(0, len(data) - EOCD_SIZE - 0xFFFF))
    if at < 0 or at + EOCD_SIZE > len(data):
        raise NotARawZip("no end of central directory record")
    return at


def parse(data: bytes) -> RawZip:
    """Take ``data`` apart. Raises :class:`NotARawZip` for anything but a plain archive."""
    eocd = find_eocd(data)
    _sig, _disk, _cd_disk, _n_disk, count, cd_size, cd_offset, comment_length = struct.unpack_from(
        "<IHHHHIIH", data, eocd
    )
    if cd_offset + cd_size > eocd or count == 0xFFFF or cd_offset == 0xFFFFFFFF:
        raise NotARawZip("central directory out of place (or ZIP64)")
    entries: list[RawEntry] = []
    at = cd_offset
    for _ in range(count):
        if data[at : at + 4] != CENTRAL_MAGIC:
            raise NotARawZip(f"no central directory header at {at}")
        central = data[at : at + CENTRAL_SIZE]
        flags, csize, name_len, extra_len, comment_len, local_at = struct.unpack_from(
            "<H10xI4xHHH8xI", central, 8
        )
        name_at = at + CENTRAL_SIZE
        extra_at = name_at + name_len
        comment_at = extra_at + extra_len
        entry = _read_local(data, local_at, csize, flags, central)
        entry.name = data[name_at:extra_at]
        entry.central_extra = data[extra_at:comment_at]
        entry.comment = data[comment_at : comment_at + comment_len]
        entries.append(entry)
        at = comment_at + comment_len
    first = min((struct.unpack_from("<I", e.central, 42)[0] for e in entries), default=cd_offset)
    end = max((_local_end(data, e) for e in entries), default=first)
    return RawZip(
        entries=entries,
        gap=data[end:cd_offset] if end <= cd_offset else b"",
        comment=data[eocd + EOCD_SIZE : eocd + EOCD_SIZE + comment_length],
        prefix=data[:first],
    )


def _read_local(
    data: bytes,
    at: int,
    csize: int,
    flags: int,
    central: bytes,
) -> RawEntry:
    """The entry whose local header is at ``at`` (name, extra and comment filled in later)."""
    if data[at : at + 4] != LOCAL_MAGIC:
        raise NotARawZip(f"no local header at {at}")
    local = data[at : at + LOCAL_SIZE]
    name_len, extra_len = struct.unpack_from("<HH", local, 26)
    start = at + LOCAL_SIZE + name_len + extra_len
    payload = data[start : start + csize]
    descriptor = b""
    if flags & DESCRIPTOR_FLAG:
        tail = start + csize
        length = 16 if data[tail : tail + 4] == b"PK\x07\x08" else 12
        descriptor = data[tail : tail + length]
    return RawEntry(
        central=central,
        name=b"",
        central_extra=b"",
        comment=b"",
        local=local,
        local_extra=data[at + LOCAL_SIZE + name_len : start],
        payload=payload,
        descriptor=descriptor,
    )


def _local_end(data: bytes, entry: RawEntry) -> int:
    at = int(struct.unpack_from("<I", entry.central, 42)[0])
    return (
        at
        + LOCAL_SIZE
        + len(entry.name)
        + len(entry.local_extra)
        + len(entry.payload)
        + len(entry.descriptor)
    )


def build(archive: RawZip) -> bytes:
    """The archive's bytes, with name lengths, local offsets and the EOCD recomputed."""
    out = bytearray(archive.prefix)
    centrals = bytearray()
    for entry in archive.entries:
        local = put(entry.local, 26, 2, len(entry.name))
        local = put(local, 28, 2, len(entry.local_extra))
        central = put(entry.central, 28, 2, len(entry.name))
        central = put(central, 30, 2, len(entry.central_extra))
        central = put(central, 32, 2, len(entry.comment))
        central = put(central, 42, 4, len(out))
        out += local + entry.name + entry.local_extra + entry.payload + entry.descriptor
        centrals += central + entry.name + entry.central_extra + entry.comment
    out += archive.gap
    cd_offset = len(out)
    out += centrals
    count = len(archive.entries)
    out += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(centrals), cd_offset, len(archive.comment)
    )
    return bytes(out + archive.comment)


def read_entry(entry: RawEntry) -> bytes:
    """The uncompressed content of a stored or deflated entry."""
    if entry.method == 0:
        return entry.payload
    if entry.method == 8:
        return zlib.decompress(entry.payload, -15)
    raise NotARawZip(f"compression method {entry.method}")


def with_content(entry: RawEntry, content: bytes) -> RawEntry:
    """``entry`` holding ``content`` instead (deflated, CRC and sizes updated, no descriptor)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    payload = compressor.compress(content) + compressor.flush()
    crc = zlib.crc32(content)
    local, central = entry.local, entry.central
    local = put(put(local, 6, 2, struct.unpack_from("<H", local, 6)[0] & ~DESCRIPTOR_FLAG), 8, 2, 8)
    local = put(put(put(local, 14, 4, crc), 18, 4, len(payload)), 22, 4, len(content))
    central = put(
        put(central, 8, 2, struct.unpack_from("<H", central, 8)[0] & ~DESCRIPTOR_FLAG), 10, 2, 8
    )
    central = put(put(put(central, 16, 4, crc), 20, 4, len(payload)), 24, 4, len(content))
    return replace(entry, local=local, central=central, payload=payload, descriptor=b"")
