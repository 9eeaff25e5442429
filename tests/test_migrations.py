"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from appwarden.db import Base, make_engine
from appwarden.models import Base as _all_models  # noqa: F401  (registers every table)


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            differences = compare_metadata(context, Base.metadata)
            seeded = connection.execute(text("SELECT id, value FROM policy_generation")).all()
    finally:
        engine.dispose()
    assert differences == []
    assert [tuple(row) for row in seeded] == [(1, 0)]
