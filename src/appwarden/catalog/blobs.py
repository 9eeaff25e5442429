"""The file store: uploaded app files kept once each, named by their SHA-256.

A file goes to ``root/sha[:2]/sha`` by :func:`os.replace` of a complete temporary file
on the same file system, so a reader never sees half a file. Uploads are first spooled
to ``root/.staging`` with a size cap, hashed on the way; they are moved into place only
after vetting succeeded, and a file that was new is removed again if the database
transaction that records it does not commit (:func:`discard_unless_committed`): a
rejected upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from appwarden.errors import TooLarge

CHUNK = 1024 * 1024
STAGING = ".staging"


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
        stop at once with :class:`TooLarge`. The staging file is gone after the block,
        unless :meth:`put` moved it into the store."""
        staging = self.root / STAGING
        staging.mkdir(parents=True, exist_ok=True)
        handle, raw = tempfile.mkstemp(dir=staging, prefix="upload-")
        path = Path(raw)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(handle, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"{name}: larger than the upload limit of {limit} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
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
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
        _fsync_dir(target.parent)
        return True


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
