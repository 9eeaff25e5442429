"""Several writers on one SQLite file: "database is locked" is told apart from other
failures, and a device batch that could not take the lock is tried again whole, never
split into a transaction per request."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy.exc import OperationalError

from appwarden import db
from appwarden.api.deps import Context
from appwarden.protocol.v1 import batching
from appwarden.protocol.v1.batching import DeviceWrites, _Job


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "writers.db"
    sqlite3.connect(path).close()
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
