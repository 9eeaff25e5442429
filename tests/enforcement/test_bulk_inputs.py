"""The bulk device inputs are the single-device ones, for static and rule groups alike."""

from __future__ import annotations

from sqlalchemy import select

from appwarden.auth.roles import Role
from appwarden.fleet.membership import FACTS, device_input, device_inputs
from appwarden.fleet.models import Device
from tests.fleet.helpers import create_group, enroll, issue_token
from tests.server import Env


def test_bulk_inputs_equal_one_device_inputs(env: Env) -> None:
    ops = env.user("ops", Role.operator)
    static = create_group(env, ops, name="field")["id"]
    create_group(env, ops, name="legal", rule={"department": ["Legal"]})
    create_group(env, ops, name="ios", rule={"platform": ["ios"], "supervised": True})
    token = issue_token(env, ops, static, max_uses=20)
    for i in range(12):
        enroll(
            env,
            token,
            platform="ios" if i % 3 == 0 else "android",
            department="legal" if i % 2 else "sales",
            supervised=i % 4 == 0,
            user_name=f"user{i}",
        )
    with env.session() as session:
        devices = list(session.scalars(select(Device)))
        rows = list(session.execute(select(*FACTS)))
        one = {d.id: device_input(session, d) for d in devices}
        assert device_inputs(session, devices) == one
        assert device_inputs(session, rows) == one  # type: ignore[arg-type]
        assert {g for d in one.values() for g in d.groups} == {"field", "legal", "ios"}
