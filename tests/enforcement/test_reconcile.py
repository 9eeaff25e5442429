"""Recompile only what changed: each kind of change recompiles the documents of the
devices it affects (counted), once per distinct inputs, and bumps only their versions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from appwarden.audit.service import Acting
from appwarden.enforcement.models import DevicePolicyVersion, PolicyChange, PolicyDocument
from appwarden.enforcement.reconcile import ReconcileResult, reconcile
from appwarden.fleet.models import Device
from appwarden.fleet.service import retire
from tests.decisions.support import Actors, actors, ok, post, reach, seed_catalog
from tests.enforcement.conftest import MakeEnv
from tests.fleet.helpers import create_group, enroll, issue_token
from tests.server import Env

TIKTOK = "com.zhiliaoapp.musically"
APP_TARGET = {"kind": "app", "app_id": TIKTOK, "platform": None}
SCOPE = ["government-issued", "contractors"]


def _reconcile(env: Env) -> ReconcileResult:
    with env.session() as session, session.begin():
        return reconcile(session, env.clock.now())


def _versions(env: Env) -> dict[str, int]:
    with env.session() as session:
        rows = session.execute(select(DevicePolicyVersion.device_id, DevicePolicyVersion.version))
        return {row.device_id: row.version for row in rows}


def _fleet(env: Env, who: Actors) -> tuple[list[str], list[str]]:
    """25 government-issued devices and 25 staff devices (5 of them in legal)."""
    gov = create_group(env, who.olu, name="government-issued")["id"]
    staff = create_group(env, who.olu, name="Staff")["id"]
    gov_token = issue_token(env, who.olu, gov, max_uses=100)
    staff_token = issue_token(env, who.olu, staff, max_uses=100)
    governed = [enroll(env, gov_token) for _ in range(25)]
    others = [
        enroll(env, staff_token, department="legal" if i < 5 else "finance") for i in range(25)
    ]
    return governed, others


def _changed(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {d for d in after if after[d] != before.get(d)}


def test_each_change_recompiles_only_the_devices_it_affects(make_env: MakeEnv) -> None:
    env = make_env(reconcile=False)
    who, catalog = actors(env), seed_catalog(env)
    governed, others = _fleet(env, who)

    first = _reconcile(env)  # every enrollment: 50 first versions of one shared document
    assert (first.documents_compiled, first.devices_changed) == (1, 50)
    assert set(_versions(env).values()) == {1}

    before = _versions(env)
    number = reach(env, who, catalog, "in_force", target=APP_TARGET, scope=SCOPE)
    ban = _reconcile(env)
    assert ban.documents_compiled == 1  # one group's devices share one input
    assert ban.devices_changed == 25
    assert _changed(before, _versions(env)) == set(governed)
    assert ban.generation == first.generation + 1

    before = _versions(env)
    body = {
        "devices": [governed[0]],
        "reason": "law_enforcement",
        "justification": "Undercover investigation needs the app on this phone.",
        "mitigations": ["no government data on the device"],
        "expires_at": (env.clock.now() + timedelta(days=30)).isoformat(),
    }
    waiver = ok(post(env, who.olu, f"/determinations/{number}/waivers", body), 201)
    assert _reconcile(env).devices_changed == 0  # a request changes nothing yet
    ok(post(env, who.alex, f"/waivers/{waiver['id']}/approve", {"note": "checked"}))
    waived = _reconcile(env)
    assert (waived.documents_compiled, waived.devices_changed) == (1, 1)
    assert _changed(before, _versions(env)) == {governed[0]}

    before = _versions(env)
    group = create_group(env, who.olu, name="contractors", rule={"department": ["legal"]})
    joined = _reconcile(env)  # named by the ban already: its 5 rule members get it
    assert (joined.documents_compiled, joined.devices_changed) == (1, 5)
    assert _changed(before, _versions(env)) == set(others[:5])

    before = _versions(env)
    edit = {"rule": {"department": ["nobody"]}}
    response = env.client.patch(
        f"/api/v1/groups/{group['id']}", json=edit, headers=env.headers(who.olu)
    )
    ok(response)
    left = _reconcile(env)  # its members before the edit: back to the empty policy
    assert (left.documents_compiled, left.devices_changed) == (1, 5)
    assert _changed(before, _versions(env)) == set(others[:5])

    assert _reconcile(env) == ReconcileResult(0, 0, 0, left.generation)  # nothing left


def test_the_clock_recompiles_devices_whose_policy_lapses(make_env: MakeEnv) -> None:
    env = make_env(reconcile=False)
    who, catalog = actors(env), seed_catalog(env)
    governed, _others = _fleet(env, who)
    reach(env, who, catalog, "in_force", target=APP_TARGET)
    _reconcile(env)
    before = _versions(env)
    env.clock.advance(timedelta(days=91))  # past the ban's end date
    lapsed = _reconcile(env)
    assert (lapsed.documents_compiled, lapsed.devices_changed) == (1, 25)
    assert _changed(before, _versions(env)) == set(governed)


def test_retired_devices_are_skipped_and_a_group_member_change_is_one_device(
    make_env: MakeEnv,
) -> None:
    env = make_env(reconcile=False)
    who, catalog = actors(env), seed_catalog(env)
    governed, others = _fleet(env, who)
    _reconcile(env)
    with env.session() as session, session.begin():
        acting = Acting(actor="ops", audit_key=env.settings.audit_secret())
        retire(session, clock=env.clock, acting=acting, device_id=governed[1])
    reach(env, who, catalog, "in_force", target=APP_TARGET)
    before = _versions(env)
    assert _reconcile(env).devices_changed == 24
    assert governed[1] not in _changed(before, _versions(env))

    groups: Any = ok(env.client.get("/api/v1/groups", headers=env.headers(who.olu)))
    gov = next(g["id"] for g in groups["items"] if g["name"] == "government-issued")
    path = f"/api/v1/groups/{gov}/members"
    ok(env.client.post(path, json={"device_id": others[7]}, headers=env.headers(who.olu)), 201)
    before = _versions(env)
    moved = _reconcile(env)
    assert (moved.documents_compiled, moved.devices_changed) == (1, 1)
    assert _changed(before, _versions(env)) == {others[7]}


def test_a_change_committed_but_never_reconciled_is_processed_at_the_next_start(
    make_env: MakeEnv,
) -> None:
    """As if the server died right after the commit: the outbox keeps the change."""
    crashed = make_env(reconcile=False)
    who, catalog = actors(crashed), seed_catalog(crashed)
    governed, _others = _fleet(crashed, who)
    reach(crashed, who, catalog, "in_force", target=APP_TARGET)
    with crashed.session() as session:
        waiting = session.scalar(select(func.count()).where(PolicyChange.processed_at.is_(None)))
        assert (
            waiting and session.scalar(select(func.count()).select_from(DevicePolicyVersion)) == 0
        )

    restarted = make_env()  # its distributor sweeps the outbox as it starts
    distributor = restarted.client.app.state.distributor  # type: ignore[attr-defined]
    distributor.nudge()
    _until_processed(restarted)
    with restarted.session() as session:
        rows = session.execute(
            select(DevicePolicyVersion.device_id, PolicyDocument.document).join(
                PolicyDocument, PolicyDocument.etag == DevicePolicyVersion.etag
            )
        ).all()
        devices = session.scalar(select(func.count()).select_from(Device))
    assert len(rows) == devices == 50
    assert {d for d, document in rows if document["banned"] == [TIKTOK]} == set(governed)


def _until_processed(env: Env) -> None:
    """Wait (bounded) until the background distributor emptied the outbox."""
    import time

    deadline = time.monotonic() + 20
    while True:
        with env.session() as session:
            left = session.scalar(select(func.count()).where(PolicyChange.processed_at.is_(None)))
        if not left:
            return
        assert time.monotonic() < deadline, f"{left} changes still waiting"
        time.sleep(0.05)
