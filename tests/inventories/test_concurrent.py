"""Two imports of the same new MDM devices at once (PostgreSQL, where they really run at
the same time): the second waits for the first, then is refused whole (409), never making
a second device for one MDM device."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from appwarden.audit.service import Acting
from appwarden.errors import DomainError
from appwarden.fleet.models import Device
from appwarden.inventories.service import import_inventory
from tests.inventories.test_documents import sample
from tests.server import Env


def _import(env: Env, session: object) -> None:
    import_inventory(
        session,  # type: ignore[arg-type]
        clock=env.clock,
        acting=Acting(actor="olu", audit_key=env.settings.audit_secret()),
        settings=env.settings,
        kind="amapi",
        data=sample("amapi_devices_list.json"),
    )


def _waiting(env: Env) -> bool:
    with env.engine.connect() as connection:
        query = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(connection.scalar(query))


# PostgreSQL only: SQLite runs one writer at a time, so the second import sees the first.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_concurrent_import_of_the_same_devices_is_refused(env: Env) -> None:
    env.clock.set(env.clock.now().replace(year=2027, month=1, day=10, hour=9))
    outcome: list[BaseException | None] = []
    with env.session() as first:
        first.begin()
        _import(env, first)

        def second() -> None:
            try:
                with env.session() as session, session.begin():
                    _import(env, session)
                outcome.append(None)
            except DomainError as refused:
                outcome.append(refused)

        thread = threading.Thread(target=second)
        thread.start()
        while not _waiting(env):  # the second import waits on the first's locks
            assert thread.is_alive(), outcome
        first.commit()
        thread.join()
    [refused] = outcome
    assert isinstance(refused, DomainError) and refused.status == 409
    assert "at the same time" in refused.detail
    with env.session() as session:
        assert session.scalar(select(func.count(Device.id))) == 2
