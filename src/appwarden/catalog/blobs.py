"""The file store: uploaded app files kept once each, named by their SHA-256.

A file goes to ``root/sha[:2]/sha`` by :func:`os.replace` of a complete temporary file
on the same file system, so a reader never sees half a file. Uploads are first spooled
to ``root/.staging`` with a size cap, hashed on the way; they are moved into place only
after vetting succeeded, and a file that was new is removed again if the database
transaction that records it does not commit (:func:`discard_unless_committed`): a
rejected upload leaves nothing behind.

A staging file is locked (``flock``) by the process writing it for as long as it is in
use. A process killed mid-upload leaves its staging file unlocked, and
:func:`sweep_staging` (run when a server process starts) removes it; files other
processes are still writing stay. A full disk is :class:`StorageFull` (507), and the
partial staging file goes with the failed upload.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from appwarden.errors import StorageFull, TooLarge

CHUNK = 1024 * 1024
STAGING = ".staging"
#: What a full file system (or an exhausted quota) looks like to a write.
FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
log = logging.getLogger(__name__)


def _full(name: str | None = None) -> StorageFull:
    return StorageFull(
        (f"{name}: " if name else "") + "the server's storage is full; the file was not kept. "
        "Send it again once an operator has freed space."
    )


@dataclass(frozen=True)
class Staged:
    """A complete file in the staging area, with its digest and size."""

    path: Path
    sha256: str
    size: int


class BlobStore:
    """Files by SHA-256 under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    @contextmanager
    def spool(self, stream: BinaryIO, *, limit: int, name: str) -> Iterator[Staged]:
        """Copy ``stream`` to a staging file in chunks, counting: past ``limit`` bytes
        stop at once with :class:`TooLarge`; on a full disk, :class:`StorageFull`. The
        staging file stays locked during the block and is gone after it, unless
        :meth:`put` moved it into the store."""
        try:
            out, path = _locked_staging_file(self.root / STAGING)
        except OSError as error:
            raise _full(name) if error.errno in FULL else error from None
        try:
            with out:
                digest, size = hashlib.sha256(), 0
                try:
                    while chunk := stream.read(CHUNK):
                        size += len(chunk)
                        if size > limit:
                            raise TooLarge(f"{name}: larger than the upload limit of {limit} bytes")
                        digest.update(chunk)
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                except OSError as error:
                    if error.errno in FULL:
                        raise _full(name) from None
                    raise
                yield Staged(path=path, sha256=digest.hexdigest(), size=size)
        finally:
            path.unlink(missing_ok=True)

    def put(self, staged: Staged) -> bool:
        """Move a staged file into the store under its SHA-256; True if the file is new.

        The staging area is on the same file system, so the rename is atomic: the final
        name appears complete or not at all. A file already stored is left as it is."""
        target = self.path_for(staged.sha256)
        if target.is_file():
            return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged.path, target)
            _fsync_dir(target.parent)
        except OSError as error:
            if error.errno in FULL:
                raise _full() from None
            raise
        return True


def _locked_staging_file(staging: Path) -> tuple[BinaryIO, Path]:
    """A new staging file, open for writing and locked by this process.

    :func:`sweep_staging` may take the lock of a file created a moment ago, before this
    process locked it, and remove it: then the file locked here is no longer the one with
    that name, and another is made."""
    staging.mkdir(parents=True, exist_ok=True)
    while True:
        handle, raw = tempfile.mkstemp(dir=staging, prefix="upload-")
        out = os.fdopen(handle, "wb")
        fcntl.flock(out.fileno(), fcntl.LOCK_EX)
        try:
            if os.stat(raw).st_ino == os.fstat(out.fileno()).st_ino:
                return out, Path(raw)
        except FileNotFoundError:
            pass
        out.close()


def sweep_staging(root: Path) -> int:
    """Remove the staging files no process holds (uploads cut off by a crash or a
    SIGKILL): the number removed. Files other processes are writing are locked, and stay."""
    staging = root / STAGING
    removed = 0
    try:
        names = sorted(p for p in staging.iterdir() if p.is_file())
    except FileNotFoundError:
        return 0
    for path in names:
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue  # an upload in progress in another process
        try:
            path.unlink(missing_ok=True)
            removed += 1
        finally:
            os.close(descriptor)
    if removed:
        log.warning("removed %d unfinished uploads from %s", removed, staging)
    return removed


def _fsync_dir(folder: Path) -> None:
    """Make the new name durable too (POSIX; a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def discard_unless_committed(session: Session, path: Path) -> None:
    """Remove ``path`` when the session's current transaction ends without committing.

    The file was written before the transaction that records it; if that transaction
    rolls back (an error later in the request, a failed COMMIT) the row that would have
    referred to the file never exists, so neither may the file."""
    state = {"committed": False, "done": False}

    def committed(sess: Session) -> None:
        if sess.get_nested_transaction() is None:
            state["committed"] = True

    def ended(_sess: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is not None or state["done"]:
            return
        state["done"] = True
        if not state["committed"]:
            path.unlink(missing_ok=True)

    event.listen(session, "after_commit", committed)
    event.listen(session, "after_transaction_end", ended)
