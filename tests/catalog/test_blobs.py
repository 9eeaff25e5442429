"""The file store on its own: capped spooling, atomic placement, removal on rollback."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import text

from appwarden.catalog.blobs import BlobStore, discard_unless_committed, sweep_staging
from appwarden.db import make_engine, make_sessionmaker
from appwarden.errors import TooLarge


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_spool_hashes_and_put_stores_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = b"x" * 3_000_000  # several chunks
    sha = hashlib.sha256(data).hexdigest()
    with store.spool(io.BytesIO(data), limit=len(data), name="a.apk") as staged:
        assert (staged.sha256, staged.size) == (sha, len(data))
        assert store.put(staged) is True
    with store.spool(io.BytesIO(data), limit=len(data), name="a.apk") as staged:
        assert store.put(staged) is False
    assert files(store.root) == [store.root / sha[:2] / sha]
    assert (store.root / sha[:2] / sha).read_bytes() == data


def test_spool_stops_at_the_limit_and_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")

    class Endless(io.RawIOBase):
        reads = 0

        def read(self, size: int = -1) -> bytes:
            self.reads += 1
            return b"\0" * size

    endless = Endless()
    with pytest.raises(TooLarge, match="upload limit of 5000000"):
        with store.spool(endless, limit=5_000_000, name="big.apk"):  # type: ignore[arg-type]
            pass
    assert endless.reads <= 6  # stopped right after the limit, not at the end
    assert files(store.root) == []


def test_path_refuses_what_is_not_a_digest(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    for bad in ("../../etc/passwd", "A" * 64, "ab"):
        with pytest.raises(ValueError):
            store.path_for(bad)


@pytest.mark.parametrize("commit", [True, False])
def test_a_new_file_lives_only_if_the_transaction_commits(tmp_path: Path, commit: bool) -> None:
    sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    path = tmp_path / "blob"
    path.write_bytes(b"data")
    with sessions() as session:
        with session.begin():
            session.execute(text("SELECT 1"))
            discard_unless_committed(session, path)
            with session.begin_nested():  # a savepoint's commit is not the commit
                session.execute(text("SELECT 2"))
            if not commit:
                session.rollback()
        assert path.exists() is commit
        path.write_bytes(b"again")
        with session.begin():  # a later transaction on the same session is not watched
            session.rollback()
        assert path.exists()


def test_sweep_removes_the_staging_files_no_process_holds(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    staging = store.root / ".staging"
    staging.mkdir(parents=True)
    (staging / "upload-cut-off").write_bytes(b"half an apk")  # a killed upload: unlocked
    with store.spool(io.BytesIO(b"in progress"), limit=100, name="a.apk") as staged:
        assert sweep_staging(store.root) == 1
        assert staged.path.read_bytes() == b"in progress"  # locked by this upload: kept
    assert sweep_staging(store.root) == 0
    assert list(staging.iterdir()) == []
    assert sweep_staging(tmp_path / "nothing-here") == 0
