"""Several writers on one SQLite file: a waiting writer finds the gaps between another's
transactions, gives up with a clear, retryable error, and a device batch that could not
take the lock is tried again whole, never split into a transaction per request."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from appwarden import db
from appwarden.api.deps import Context
from appwarden.protocol.v1 import batching
from appwarden.protocol.v1.batching import DeviceWrites, _Job


def engine_on(path: Path) -> Engine:
    return db.make_engine(f"sqlite:///{path}")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "writers.db"
    with engine_on(path).begin() as connection:
        connection.execute(text("CREATE TABLE t (who TEXT, round INTEGER)"))
    return path


def busy_error(path: Path) -> OperationalError:
    """A real "database is locked", as SQLite raises it, wrapped as SQLAlchemy wraps it."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        waiter.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        return OperationalError("BEGIN IMMEDIATE", {}, error)
    finally:
        holder.rollback()
        holder.close()
        waiter.close()
    raise AssertionError("the second writer took the lock the first one held")


def test_a_waiting_writer_gets_in_between_another_writers_transactions(database: Path) -> None:
    """The busy writer lets go for 2 ms between transactions of 100 ms. SQLite's own busy
    handler, once it has waited a third of a second, tries every 100 ms and mostly misses
    such gaps (waits of 4-6 s were seen); ours gets in within a few of them, three times."""
    first, second = engine_on(database), engine_on(database)
    started, stop = threading.Event(), threading.Event()
    rounds: list[int] = []

    def busy() -> None:
        while not stop.is_set():
            with first.begin() as connection:
                connection.execute(text("INSERT INTO t VALUES ('busy', :r)"), {"r": len(rounds)})
                started.set()
                time.sleep(0.1)
            rounds.append(len(rounds))
            time.sleep(0.002)

    writer = threading.Thread(target=busy)
    writer.start()
    waited: list[int] = []
    try:
        assert started.wait(10)
        for attempt in range(3):
            before = len(rounds)
            with second.begin() as connection:
                waited.append(len(rounds) - before)
                connection.execute(text("INSERT INTO t VALUES ('waiter', :r)"), {"r": attempt})
    finally:
        stop.set()
        writer.join()
    assert max(waited) <= 5, f"the waiter waited {waited} of the busy writer's transactions"
    with first.connect() as connection:
        rows = dict(connection.execute(text("SELECT who, count(*) FROM t GROUP BY who")).all())
    assert rows == {"busy": len(rounds), "waiter": 3}


def test_a_writer_gives_up_after_its_wait_with_a_busy_error(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "WRITE_WAIT_S", 0.2)
    first, second = engine_on(database), engine_on(database)
    with first.begin() as holding:
        holding.execute(text("INSERT INTO t VALUES ('holder', 0)"))
        with pytest.raises(OperationalError) as raised, second.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES ('waiter', 0)"))
        assert db.is_busy(raised.value)
        assert "database is locked" in str(raised.value)
    # The failed start left the connection's busy timeout for other statements as it was,
    # and the next transaction on it goes ahead.
    with second.begin() as connection:
        timeout = connection.execute(text("PRAGMA busy_timeout")).scalar_one()
        connection.execute(text("INSERT INTO t VALUES ('waiter', 1)"))
    assert timeout == db.BUSY_TIMEOUT_MS
    with first.connect() as connection:
        rows = connection.execute(text("SELECT who, round FROM t ORDER BY who")).all()
    assert [tuple(row) for row in rows] == [("holder", 0), ("waiter", 1)]


def test_only_a_locked_database_counts_as_busy(database: Path) -> None:
    assert db.is_busy(busy_error(database))
    assert db.is_busy(busy_error(database).orig)
    constraint = OperationalError("INSERT", {}, sqlite3.OperationalError("no such table: x"))
    assert not db.is_busy(constraint)
    assert not db.is_busy(ValueError("database is locked"))


@pytest.fixture
def jobs() -> Iterator[Callable[[int], list[_Job]]]:
    """Queued requests (their futures need an event loop; none runs them here)."""
    loop = asyncio.new_event_loop()
    yield lambda n: [_Job(future=loop.create_future()) for _ in range(n)]
    loop.close()


class Counting(DeviceWrites):
    """The writer with its transaction replaced: fails with ``error`` ``failures`` times."""

    def __init__(self, error: Exception, failures: int) -> None:
        super().__init__(cast(Context, None))
        self.error, self.failures = error, failures
        self.sizes: list[int] = []

    def _transaction(self, jobs: list[_Job]) -> list[batching.Outcome]:
        self.sizes.append(len(jobs))
        if len(self.sizes) <= self.failures:
            raise self.error
        return [ValueError(f"answer {i}") for i in range(len(jobs))]


def test_a_batch_that_found_the_database_locked_is_tried_again_whole(
    database: Path, jobs: Callable[[int], list[_Job]]
) -> None:
    writes = Counting(busy_error(database), failures=1)
    outcomes = writes._record(jobs(5))
    assert writes.sizes == [5, 5]
    assert [str(o) for o in outcomes] == [f"answer {i}" for i in range(5)]


def test_a_batch_still_locked_out_fails_whole_without_a_transaction_per_request(
    database: Path, jobs: Callable[[int], list[_Job]]
) -> None:
    error = busy_error(database)
    writes = Counting(error, failures=10)
    outcomes = writes._record(jobs(5))
    assert writes.sizes == [5, 5]
    assert outcomes == [error] * 5


def test_a_batch_failing_for_another_reason_is_retried_one_request_at_a_time(
    jobs: Callable[[int], list[_Job]],
) -> None:
    writes = Counting(RuntimeError("a bad request"), failures=1)
    outcomes = writes._record(jobs(3))
    assert writes.sizes == [3, 1, 1, 1]
    assert [str(o) for o in outcomes] == ["answer 0"] * 3
