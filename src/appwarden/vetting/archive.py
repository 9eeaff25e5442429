"""Reading ZIP-based app archives (APK, split bundles, IPA) without trusting them.

Every archive is checked once, from its central directory, before anything is read:
entry count, declared uncompressed total, per-entry compression ratio (zip bombs),
names that climb out of a folder or are absolute (path traversal), and duplicate names
(which Android itself refuses: two entries with one name let a verifier and an installer
see different files). Reads are then bounded by the declared sizes, which :mod:`zipfile`
enforces while decompressing and checks against the CRC.
"""

from __future__ import annotations

import io
import lzma
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from appwarden.vetting.errors import UnreadableFile, UnsafeArchive
from appwarden.vetting.limits import ArchiveLimits

_ZIP_LOCAL_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    size: int
    compressed_size: int


def _check_name(name: str) -> None:
    if "\x00" in name:
        raise UnsafeArchive(f"archive entry name holds a NUL byte: {name!r}")
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        raise UnsafeArchive(f"archive entry has an absolute path: {name!r}")
    if ".." in normal.split("/"):
        raise UnsafeArchive(f"archive entry climbs out of its folder: {name!r}")


class SafeZip:
    """A validated ZIP archive held in memory."""

    def __init__(self, data: bytes, *, limits: ArchiveLimits, what: str = "archive") -> None:
        if not data:
            raise UnreadableFile(f"the {what} is empty (0 bytes)")
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            if data.startswith(_ZIP_LOCAL_MAGIC):
                raise UnreadableFile(
                    f"the {what} is a truncated ZIP archive (its central directory is missing)"
                ) from None
            raise UnreadableFile(f"the {what} is not a ZIP archive") from None
        except (ValueError, OSError, NotImplementedError) as err:
            raise UnreadableFile(f"the {what} has a corrupt ZIP structure: {err}") from None
        self.limits = limits
        self.what = what
        self.entries = self._validate()

    def _validate(self) -> dict[str, Entry]:
        infos = self._zip.infolist()
        if len(infos) > self.limits.max_entries:
            raise UnsafeArchive(
                f"the {self.what} has {len(infos)} entries (limit {self.limits.max_entries})"
            )
        entries: dict[str, Entry] = {}
        total = 0
        for info in infos:
            _check_name(info.filename)
            if info.filename in entries:
                raise UnsafeArchive(f"the {self.what} holds two entries named {info.filename!r}")
            total += info.file_size
            if total > self.limits.max_uncompressed_bytes:
                raise UnsafeArchive(
                    f"the {self.what} expands to more than "
                    f"{self.limits.max_uncompressed_bytes} bytes (zip bomb?)"
                )
            if info.file_size > self.limits.ratio_floor:
                ratio = info.file_size / max(info.compress_size, 1)
                if ratio > self.limits.max_ratio:
                    raise UnsafeArchive(
                        f"entry {info.filename!r} expands {ratio:.0f}:1 "
                        f"(limit {self.limits.max_ratio}:1, zip bomb?)"
                    )
            entries[info.filename] = Entry(info.filename, info.file_size, info.compress_size)
        return entries

    def names(self) -> Iterator[str]:
        return iter(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def read(self, name: str) -> bytes:
        """The entry's bytes; a damaged entry raises :class:`UnreadableFile` naming it."""
        try:
            return self._zip.read(name)
        except KeyError:
            raise UnreadableFile(f"the {self.what} has no entry {name!r}") from None
        except (
            zipfile.BadZipFile,
            zlib.error,
            lzma.LZMAError,  # a method of 14 (LZMA) over data that is not
            EOFError,
            ValueError,
            OSError,
            RuntimeError,
        ) as err:
            raise UnreadableFile(f"entry {name!r} of the {self.what} is damaged: {err}") from None
        except NotImplementedError as err:
            raise UnreadableFile(f"entry {name!r} uses an unsupported ZIP feature: {err}") from None
