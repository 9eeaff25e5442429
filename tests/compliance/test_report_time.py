"""A state report's time is read once the report holds its devices (the write lock on
SQLite, their rows on PostgreSQL). A judgement that commits while a report waits for them
is then older than the report, and cannot leave the device pending after it reported."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from appwarden.compliance import service as compliance
from appwarden.compliance.models import ComplianceStatus
from appwarden.protocol.v1 import batching
from tests.compliance.support import APP_TARGET, Phone
from tests.decisions.support import actors, ok, reach, seed_catalog
from tests.server import Env


def _statuses(env: Env, device_id: str) -> dict[int, str]:
    with env.session() as session:
        query = select(ComplianceStatus.determination_id, ComplianceStatus.status)
        return dict(session.execute(query.where(ComplianceStatus.device_id == device_id)).all())


class _Race:
    """The periodic judging of one device, started at the first reading of the clock in a
    transaction that records a report: it commits at once if the report holds nothing yet
    (what the report reads after is newer), or waits for the report to commit."""

    def __init__(self, env: Env, device_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.env, self.device_id = env, device_id
        self.armed = threading.local()
        self.judging: threading.Thread | None = None
        transaction = batching.DeviceWrites._transaction

        def recording(writes: batching.DeviceWrites, jobs: list[Any]) -> Any:
            self.armed.on = any(job.signed_report is not None for job in jobs)
            try:
                return transaction(writes, jobs)
            finally:
                self.armed.on = False

        def now() -> datetime:  # each reading one second after the one before
            moment = env.clock.advance(timedelta(seconds=1))
            if getattr(self.armed, "on", False) and self.judging is None:
                self.judging = threading.Thread(target=self._judge)
                self.judging.start()
                self.judging.join(2)  # done, or waiting for the report's lock
            return moment

        monkeypatch.setattr(batching.DeviceWrites, "_transaction", recording)
        monkeypatch.setattr(env.clock, "now", now)

    def _judge(self) -> None:
        with self.env.session() as session, session.begin():
            now = self.env.clock.now()
            compliance.refresh(session, now, [self.device_id], settings=self.env.settings)

    def finish(self) -> None:
        assert self.judging is not None, "no report was recorded"
        self.judging.join(60)
        assert not self.judging.is_alive()


def test_a_judgement_committed_while_a_report_waits_does_not_leave_it_pending(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    ok(phone.report({}))  # holds nothing, before any ban
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    version = phone.policy()["version"]  # the ban's policy, judged by nobody yet
    with env.session() as session, session.begin():
        session.execute(ComplianceStatus.__table__.delete())
    race = _Race(env, phone.id, monkeypatch)

    ok(phone.report({}, version=version))
    race.finish()

    assert _statuses(env, phone.id) == {number: "compliant"}
    with env.session() as session:  # nothing left for the periodic judging to mend
        assert phone.id not in compliance.due(session, env.clock.now(), env.settings)
