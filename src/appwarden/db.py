"""The database: one SQLAlchemy model, SQLite (WAL) embedded or PostgreSQL for scale-out.

Engines and sessions are built by functions from settings, never at import time. The
caller owns the transaction: one request, CLI command or device report is one unit of
work (``with session.begin(): ...``); services never commit on their own.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Table,
    and_,
    any_,
    bindparam,
    create_engine,
    event,
    insert,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute, Session, sessionmaker
from sqlalchemy.sql.schema import ScalarElementColumnDefault
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")
#: A table's column, or a mapped class's attribute for one.
ColumnLike = ColumnElement[Any] | QueryableAttribute[Any]

# Deterministic constraint names, so migrations can refer to them on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which drops the zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use the injected clock")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}


#: How long a connection waits for a lock another connection holds (milliseconds).
BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, say when transactions begin (see _begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    """Take SQLite's write lock when a transaction starts, not at its first write.

    A deferred transaction that read, then tries to write after another writer committed,
    fails at once with SQLITE_BUSY_SNAPSHOT; an immediate one waits (busy_timeout) and then
    sees the other's writes. The audit chain's read-the-head-then-append relies on that.

    SQLite's wait is not fair: once a waiter has waited a third of a second it tries every
    100 ms, and a server process with queued device writes takes the lock again within
    milliseconds of letting go, so with several processes a waiter can miss every gap
    until its timeout. Trying every 2-5 ms here instead found the gaps, but cost 4 workers
    about 17 % more CPU per device in a 10,000-device ban (docs/benchmarks.md), so the
    wait stays SQLite's. A batch of device writes that fails with :func:`is_busy` is
    tried once more whole (:mod:`appwarden.protocol.v1.batching`).
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` is SQLite's "database is locked": another connection held the lock
    for longer than this one would wait. Worth retrying as a whole."""
    orig = getattr(error, "orig", error)
    return (
        isinstance(orig, sqlite3.OperationalError)
        and getattr(orig, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY
    )


#: SQLite connections are cheap: enough for every request thread, so none waits for one.
SQLITE_POOL = 20


def make_engine(url: str, *, pool_size: int = 5, readonly: bool = False) -> Engine:
    """An engine for ``url``: SQLite gets WAL and foreign keys; PostgreSQL a small pool.

    On SQLite every transaction takes the write lock when it begins (see
    :func:`_begin_immediate`), except on a ``readonly`` engine: its transactions are
    deferred and, in WAL mode, read a snapshot without waiting for any writer."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=SQLITE_POOL,
            max_overflow=SQLITE_POOL,
            # The most recently returned connection first: the few a steady load needs
            # stay busy and the rest idle, rather than every pooled connection taking
            # turns and each filling its own page cache (up to 2 MiB apiece).
            pool_use_lifo=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if not readonly:
            event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # psycopg prepares a statement run five times. PostgreSQL may then plan it once
        # for any parameters, and for ``id = ANY(array)`` (:func:`one_of`) that generic
        # plan scans the whole table: over a 10,000-device ban four lookups took 43 to
        # 82 ms each instead of about 2. Each execution is planned for its own values.
        connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed if the block ends normally, rolled back otherwise."""
    with sessions() as session, session.begin():
        yield session


def insert_rows(
    session: Session, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]]
) -> None:
    """INSERT ``rows`` into ``model``'s table: one executemany, or on PostgreSQL one COPY.

    Core, not the ORM's bulk insert: on the hot paths (a ban's state reports), the ORM
    spends more Python per row than the database spends writing it. On PostgreSQL, COPY
    sends the rows as one stream instead of one bound statement each: for 20,000 rows
    (psycopg 3, measured) 5 times less CPU in this process and 3 times less in
    PostgreSQL's. Every row holds the same columns."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    connection = session.connection()
    if connection.dialect.name == "postgresql" and _copy_rows(connection, table, rows):
        return
    session.execute(insert(table), list(rows))


def _copy_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> bool:
    """COPY ``rows`` into ``table``, in the connection's transaction, with the values bound
    as an INSERT would bind them (the columns' types, their scalar defaults). False, and
    nothing sent, for a table with a default COPY cannot give (one computed per row)."""
    import psycopg
    from psycopg import sql

    names = list(rows[0])
    defaults: dict[str, Any] = {}
    for column in table.columns:
        if column.name in rows[0] or column.default is None:
            continue  # given, or left to the database (a sequence, a server default)
        if not isinstance(column.default, ScalarElementColumnDefault):
            return False
        defaults[column.name] = column.default.arg
    dialect = connection.dialect
    columns = names + list(defaults)
    binds = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    fixed = list(defaults.values())
    driver = cast(psycopg.Connection[Any], connection.connection.driver_connection)
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                values = [row[name] for name in names] + fixed
                copy.write_row(
                    [v if bind is None else bind(v) for v, bind in zip(values, binds, strict=True)]
                )
    except psycopg.Error as error:  # as SQLAlchemy would raise it for an INSERT
        raise DBAPIError.instance(
            f"COPY {table.name}", None, error, psycopg.Error, dialect=dialect
        ) from error
    return True


def update_rows(
    session: Session, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]]
) -> None:
    """UPDATE ``model``'s rows by primary key: each row holds the key columns and the
    columns to set. One executemany per set of columns (see :func:`insert_rows`)."""
    table = cast(Table, model.__table__)
    keys = [column.name for column in table.primary_key]
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(sorted(c for c in row if c not in keys)), []).append(row)
    for columns, group in shapes.items():
        statement = (
            update(table)
            .where(*(table.c[key] == bindparam(f"key_{key}") for key in keys))
            .values({column: bindparam(f"set_{column}") for column in columns})
        )
        session.execute(
            statement,
            [
                {f"key_{k}": row[k] for k in keys} | {f"set_{c}": row[c] for c in columns}
                for row in group
            ],
        )


#: Values in one IN list at most: well under SQLite's 32,766 bound parameters, and as many
#: as one batch of device writes takes (``protocol.v1.batching.MAX_BATCH``), so that each of
#: a batch's reads is one statement, not two (with 400, a batch of 500 devices read
#: everything twice: a chunk of 400 and one of 100).
CHUNK = 500


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def one_of(session: Session, column: ColumnLike, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``, one parameter.

    psycopg rewrites each statement's placeholders for PostgreSQL and remembers the result
    only for statements of at most 50 parameters: a 400-value IN list was rewritten on
    every execution, 8 % of the server's samples in a profile of a 10,000-device ban. An
    array is one parameter, and the statement's text is the same for every batch."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    element = column.type
    return column == any_(bindparam(None, list(values), type_=ARRAY(element)))


# Pairs of key columns, such as (device, policy version), are asked for in a form each
# store plans well. PostgreSQL expands a row-value IN list, ``(a, b) IN ((1, 2), ...)``, into
# one OR branch per pair and takes time to plan it that grows faster than the list
# (PostgreSQL 15, 300,000 rows: 40 ms to plan 400 pairs, 1.8 ms for 50), against 0.2 ms for
# one IN list per column, each an index condition; the writer of device reports waited
# through three such statements per batch. SQLite probes its index once per pair of two
# IN lists (400 x 400 probes: 39 ms for 400 pairs), and its row-value IN list alone scans
# the whole table (63 ms for 500 pairs at 300,000 rows, the size a 100,000-device fleet's
# reports reach). With the first column's own IN list as well, SQLite searches the index
# by it and keeps the pairs with the row-value list: 1.0 ms. Either way ``first`` must
# lead an index of the table (every caller's does: the device id).


def pairs_narrowed(
    session: Session, first: ColumnLike, second: ColumnLike, pairs: Sequence[tuple[Any, Any]]
) -> Iterator[ColumnElement[bool]]:
    """Conditions, one per statement, that together select every row whose ``(first,
    second)`` is one of ``pairs``, and on PostgreSQL perhaps a few more (a pair's first
    from one and its second from another): the caller keeps the rows whose pair it asked
    for. Each holds at most :data:`CHUNK` pairs."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    for part in chunked(pairs):
        if sqlite:
            yield _sqlite_pairs(first, second, part)
        else:
            firsts, seconds = {a for a, _ in part}, {b for _, b in part}
            yield and_(one_of(session, first, firsts), one_of(session, second, seconds))


def pairs_exactly(
    session: Session, first: ColumnLike, second: ColumnLike, pairs: Sequence[tuple[Any, Any]]
) -> Iterator[ColumnElement[bool]]:
    """Conditions, one per statement, that together select exactly the rows whose
    ``(first, second)`` is one of ``pairs`` (for a DELETE, which cannot keep a few more).
    On PostgreSQL the pairs are grouped by whichever column has fewer distinct values, so
    a ban's removals, one app on many devices, are one statement."""
    if session.get_bind().dialect.name == "sqlite":
        yield from (_sqlite_pairs(first, second, part) for part in chunked(pairs))
        return
    by_first: defaultdict[Any, list[Any]] = defaultdict(list)
    by_second: defaultdict[Any, list[Any]] = defaultdict(list)
    for a, b in dict.fromkeys(pairs):
        by_first[a].append(b)
        by_second[b].append(a)
    if len(by_second) <= len(by_first):
        for b, firsts in by_second.items():
            yield from (and_(second == b, one_of(session, first, p)) for p in chunked(firsts))
    else:
        for a, seconds in by_first.items():
            yield from (and_(first == a, one_of(session, second, p)) for p in chunked(seconds))


def _sqlite_pairs(
    first: ColumnLike, second: ColumnLike, pairs: Sequence[tuple[Any, Any]]
) -> ColumnElement[bool]:
    """Exactly ``pairs``, searched by ``first`` (see above)."""
    return and_(
        first.in_(list(dict.fromkeys(a for a, _ in pairs))), tuple_(first, second).in_(pairs)
    )


#: SQLite's SQLITE_FULL, PostgreSQL's disk_full (SQLSTATE 53100).
_SQLITE_FULL = "database or disk is full"
_PG_DISK_FULL = "53100"


def database_trouble(error: DBAPIError) -> Literal["full", "unavailable"] | None:
    """What a database failure that is not the request's fault is: the disk under the
    database is ``full``, or the database is ``unavailable`` (a lost or refused connection,
    worth retrying); None for anything else (a bug, a constraint)."""
    if _SQLITE_FULL in str(error.orig) or getattr(error.orig, "sqlstate", None) == _PG_DISK_FULL:
        return "full"
    if error.connection_invalidated or isinstance(error, OperationalError):
        return "unavailable"
    return None
