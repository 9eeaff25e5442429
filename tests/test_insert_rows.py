"""appwarden.db.insert_rows on both stores: what an INSERT would store, and its errors, on
PostgreSQL's COPY as on SQLite's executemany."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import JSON, Engine, ForeignKey, String, event, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from appwarden.db import NAMING, UTCDateTime, insert_rows, make_engine


class ProbeBase(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


ProbeBase.metadata.naming_convention = NAMING
counter = itertools.count(100)


class Parent(ProbeBase):
    __tablename__ = "insert_probe_parent"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)


class Row(ProbeBase):
    __tablename__ = "insert_probe"
    id: Mapped[int] = mapped_column(primary_key=True)  # from the database's sequence
    parent_id: Mapped[str] = mapped_column(ForeignKey("insert_probe_parent.id"))
    name: Mapped[str] = mapped_column(String(50), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime]
    flag: Mapped[bool | None]
    attempts: Mapped[int] = mapped_column(default=0)  # a scalar default


class Computed(ProbeBase):
    __tablename__ = "insert_probe_computed"
    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[int] = mapped_column(default=lambda: next(counter))  # one per row


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=1)
    ProbeBase.metadata.drop_all(engine)
    ProbeBase.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add(Parent(id="p1"))
    yield engine
    ProbeBase.metadata.drop_all(engine)
    engine.dispose()


AT = datetime(2026, 11, 24, 12, 0, tzinfo=timezone(timedelta(hours=-5)))


def rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "parent_id": "p1",
            "name": f"row-{i}",
            "payload": {"i": i, "apps": ["com.example.a", None], "text": "tab\tnew\nline \\ é"},
            "at": AT + timedelta(seconds=i),
            "flag": None if i % 3 == 0 else i % 2 == 0,
        }
        for i in range(start, start + n)
    ]


def test_rows_are_stored_as_an_insert_stores_them(engine: Engine) -> None:
    given = rows(250)
    with Session(engine) as session, session.begin():
        insert_rows(session, Row, given)
    with Session(engine) as session:
        stored = session.scalars(select(Row).order_by(Row.id)).all()
    assert [r.name for r in stored] == [g["name"] for g in given]
    assert [r.payload for r in stored] == [g["payload"] for g in given]
    assert [r.flag for r in stored] == [g["flag"] for g in given]
    # Stored in UTC, read back as aware UTC datetimes: the same instants.
    assert [r.at for r in stored] == [g["at"] for g in given]
    assert all(r.at.tzinfo == UTC for r in stored)
    assert {r.attempts for r in stored} == {0}
    assert len({r.id for r in stored}) == 250


def test_a_duplicate_is_the_integrity_error_an_insert_raises_and_writes_nothing(
    engine: Engine,
) -> None:
    with Session(engine) as session, session.begin():
        insert_rows(session, Row, rows(3))
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        insert_rows(session, Row, rows(5, start=2))  # row-2 is there already
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        insert_rows(session, Row, [dict(rows(1, start=9)[0], parent_id="nobody")])
    with Session(engine) as session:
        assert session.scalars(select(Row.name).order_by(Row.id)).all() == [
            "row-0",
            "row-1",
            "row-2",
        ]
    # After the refused batches, the next one is written (nothing left half-done).
    with Session(engine) as session, session.begin():
        insert_rows(session, Row, rows(1, start=3))
    with Session(engine) as session:
        assert len(session.scalars(select(Row)).all()) == 4


def test_a_naive_time_is_refused_before_anything_is_written(engine: Engine) -> None:
    naive = [dict(rows(1)[0], at=datetime(2026, 11, 24, 12, 0))]
    with pytest.raises((ValueError, StatementError)), Session(engine) as session:
        with session.begin():
            insert_rows(session, Row, naive)
    with Session(engine) as session:
        assert session.scalars(select(Row)).all() == []


def test_a_default_computed_per_row_is_computed_for_every_row(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        insert_rows(session, Computed, [{"id": i} for i in (1, 2, 3)])
    with Session(engine) as session:
        serials = session.scalars(select(Computed.serial).order_by(Computed.id)).all()
    assert len(set(serials)) == 3 and all(s >= 100 for s in serials)


def test_no_rows_send_nothing(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        insert_rows(session, Row, [])
    with Session(engine) as session:
        assert session.scalars(select(Row)).all() == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_takes_the_rows_by_copy_unless_a_default_is_computed_per_row(
    engine: Engine,
) -> None:
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement.split()[0])

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as session, session.begin():
            session.connection()
            insert_rows(session, Row, rows(10))
            assert sent == []  # no INSERT: the rows went by COPY
            insert_rows(session, Computed, [{"id": 1}])
            assert sent == ["INSERT"]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with Session(engine) as session:
        assert len(session.scalars(select(Row)).all()) == 10
