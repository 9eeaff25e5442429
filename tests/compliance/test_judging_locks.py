"""The background judging never waits for the state-report writer (PostgreSQL): it skips
the devices a report is being recorded for, which that report judges."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from appwarden.compliance import intake
from appwarden.compliance import service as compliance
from appwarden.compliance.models import ComplianceStatus, InstalledApp
from appwarden.fleet.models import Device
from tests.compliance.support import APP_TARGET, TIKTOK, Phone
from tests.decisions.support import actors, ok, reach, seed_catalog
from tests.server import Env


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_judging_skips_a_device_whose_report_is_being_recorded(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    busy, free = Phone(env, who), Phone(env, who)
    for phone in (busy, free):
        ok(phone.report({TIKTOK: None}))
    with env.session() as session, session.begin():
        session.execute(ComplianceStatus.__table__.delete())
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    for phone in (busy, free):  # their policies carry the ban (compiled if need be)
        assert phone.policy()["policy"]["banned"] == [TIKTOK]
    with env.session() as session, session.begin():  # nothing judged yet, for this test
        session.execute(ComplianceStatus.__table__.delete())

    with env.session() as writer, writer.begin():
        # As the report writer does: the busy device's row is locked until it commits.
        writer.execute(select(Device.id).where(Device.id == busy.id).with_for_update())
        with env.session() as judging, judging.begin():
            # Were it to wait for the lock, fail rather than hang.
            judging.execute(text("SET LOCAL lock_timeout = '5s'"))
            compliance.refresh(judging, env.clock.now(), [busy.id, free.id], settings=env.settings)
        with env.session() as session:
            judged = session.execute(
                select(ComplianceStatus.device_id, ComplianceStatus.determination_id)
            ).all()
        assert [tuple(row) for row in judged] == [(free.id, number)]  # and it did not wait


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_report_batch_does_not_stop_others_from_referring_to_its_devices(env: Env) -> None:
    """The report writer's device locks serialize reports, not references: the
    recompiler, holding the policy lock, issues versions that refer to those devices.
    Were the lock ``FOR UPDATE``, that reference would wait for the writer, and the
    writer, waiting for the policy lock, for it: a deadlock (219 in 4.5 minutes of one
    100,000-device start)."""
    who = actors(env)
    phone = Phone(env, who)
    ok(phone.report({TIKTOK: None}))
    with env.session() as writer, writer.begin():
        intake.lock(writer, [phone.id])
        with env.session() as other, other.begin():
            other.execute(text("SET LOCAL lock_timeout = '3s'"))
            other.add(InstalledApp(device_id=phone.id, app_id="com.example.other", signer=None))
            other.flush()  # checks the reference to the locked device: no wait
            # Another report batch for the same device still waits: reports stay serial.
            other.execute(text("SAVEPOINT again"))
            with pytest.raises(OperationalError, match="lock timeout"):
                intake.lock(other, [phone.id])
            other.execute(text("ROLLBACK TO SAVEPOINT again"))
