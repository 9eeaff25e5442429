"""ZIP archives in memory, unsigned APKs and zip bombs."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from builders.axml import Element, axml
from builders.dex import dex


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
