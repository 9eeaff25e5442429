"""Pairs of key columns asked for in a form each store plans well (appwarden.db): exact for
deletes, a superset the caller filters for reads, on both stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, delete, select
from sqlalchemy.orm import Session

from appwarden.db import CHUNK, make_engine, one_of, pairs_exactly, pairs_narrowed

probe_metadata = MetaData()
probe = Table(
    "pair_probe",
    probe_metadata,
    Column("device_id", String(40), primary_key=True),
    Column("version", Integer, primary_key=True),
)
DEVICES = [f"dev-{i:04d}" for i in range(12)]
ALL = {(d, v) for d in DEVICES for v in (1, 2, 3)}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=1)
    probe_metadata.drop_all(engine)
    probe_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(probe.insert(), [{"device_id": d, "version": v} for d, v in ALL])
    yield engine
    probe_metadata.drop_all(engine)
    engine.dispose()


def rows(engine: Engine) -> set[tuple[str, int]]:
    with engine.connect() as connection:
        return {(d, v) for d, v in connection.execute(select(probe))}


def delete_pairs(engine: Engine, pairs: list[tuple[str, int]]) -> int:
    statements = 0
    with Session(engine) as session, session.begin():
        for exactly in pairs_exactly(session, probe.c.device_id, probe.c.version, pairs):
            session.execute(delete(probe).where(exactly))
            statements += 1
    return statements


@pytest.mark.parametrize(
    "pairs",
    [
        # One version on many devices (a ban's removals: one app on many devices).
        [(d, 2) for d in DEVICES[:7]],
        # Many versions of one device, and crossed pairs: dev-0000 v1 and dev-0001 v2 must
        # not take dev-0000 v2 or dev-0001 v1 with them.
        [("dev-0000", 1), ("dev-0001", 2), ("dev-0002", 3), ("dev-0002", 1), ("dev-0002", 2)],
        # Repeated pairs, and a pair no row has.
        [("dev-0003", 1), ("dev-0003", 1), ("dev-9999", 1)],
    ],
)
def test_a_delete_takes_exactly_the_pairs_asked_for(
    engine: Engine, pairs: list[tuple[str, int]]
) -> None:
    delete_pairs(engine, pairs)
    assert rows(engine) == ALL - set(pairs)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_groups_pairs_by_the_column_with_fewer_distinct_values(
    engine: Engine,
) -> None:
    # Seven devices, one version: one statement. One device, three versions: one statement.
    assert delete_pairs(engine, [(d, 2) for d in DEVICES[:7]]) == 1
    assert delete_pairs(engine, [("dev-0010", v) for v in (1, 2, 3)]) == 1
    # Three devices over two versions: two statements, one per version.
    assert delete_pairs(engine, [("dev-0000", 1), ("dev-0001", 3), ("dev-0011", 1)]) == 2
    assert rows(engine) == ALL - {(d, 2) for d in DEVICES[:7]} - {
        ("dev-0010", 1),
        ("dev-0010", 2),
        ("dev-0010", 3),
        ("dev-0000", 1),
        ("dev-0001", 3),
        ("dev-0011", 1),
    }


def test_no_pairs_give_no_condition(engine: Engine) -> None:
    with Session(engine) as session:
        assert list(pairs_exactly(session, probe.c.device_id, probe.c.version, [])) == []
        assert list(pairs_narrowed(session, probe.c.device_id, probe.c.version, [])) == []


def test_many_pairs_are_cut_into_statements_of_at_most_chunk_values(engine: Engine) -> None:
    many = [(f"dev-{i:05d}", 2) for i in range(2 * CHUNK + 1)]
    with Session(engine) as session:
        assert len(list(pairs_exactly(session, probe.c.device_id, probe.c.version, many))) == 3
        assert len(list(pairs_narrowed(session, probe.c.device_id, probe.c.version, many))) == 3


def test_a_narrowed_read_holds_every_pair_asked_for_and_the_caller_keeps_those(
    engine: Engine,
) -> None:
    wanted = [("dev-0000", 1), ("dev-0001", 2), ("dev-9999", 3)]
    found: set[tuple[str, int]] = set()
    with Session(engine) as session:
        for narrowed in pairs_narrowed(session, probe.c.device_id, probe.c.version, wanted):
            found |= {(d, v) for d, v in session.execute(select(probe).where(narrowed))}
        postgresql = session.get_bind().dialect.name == "postgresql"
    # On PostgreSQL the narrowed rows include crossed pairs (dev-0000 v2, dev-0001 v1).
    crossed = {("dev-0000", 2), ("dev-0001", 1)}
    assert found & crossed == (crossed if postgresql else set())
    assert found & set(wanted) == {("dev-0000", 1), ("dev-0001", 2)}


def test_one_of_selects_the_rows_with_any_of_the_values(engine: Engine) -> None:
    wanted = {"dev-0001", "dev-0004", "dev-9999"}
    with Session(engine) as session:
        condition = one_of(session, probe.c.device_id, wanted)
        found = {d for d, _v in session.execute(select(probe).where(condition))}
        postgresql = session.get_bind().dialect.name == "postgresql"
    assert found == {"dev-0001", "dev-0004"}
    # On PostgreSQL the values travel as one array parameter, whatever their number.
    sql = str(condition.compile(dialect=session.get_bind().dialect))
    assert ("ANY" in sql) == postgresql
    assert (sql.count("%(") == 1) == postgresql


def test_one_of_no_values_selects_nothing(engine: Engine) -> None:
    with Session(engine) as session:
        assert (
            session.execute(select(probe).where(one_of(session, probe.c.version, []))).all() == []
        )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_plans_every_execution_for_its_own_values(engine: Engine) -> None:
    # A generic plan for ``id = ANY(array)`` would not know the array's length.
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_searches_the_index_for_pairs_rather_than_scanning_the_table(
    engine: Engine,
) -> None:
    """A row-value IN list alone made SQLite read the whole table for every batch: 63 ms
    for 500 pairs at 300,000 rows. Searched by the first column, 1.0 ms."""
    wanted = [("dev-0000", 1), ("dev-0001", 2)]
    with Session(engine) as session:
        connection = session.connection()
        for condition in [
            *pairs_narrowed(session, probe.c.device_id, probe.c.version, wanted),
            *pairs_exactly(session, probe.c.device_id, probe.c.version, wanted),
        ]:
            compiled = (
                select(probe)
                .where(condition)
                .compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
            )
            params = [compiled.params[name] for name in compiled.positiontup or []]
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(params))
            details = [row[3] for row in plan]
            assert any(d.startswith("SEARCH pair_probe") for d in details), details
            assert not any(d.startswith("SCAN pair_probe") for d in details), details
