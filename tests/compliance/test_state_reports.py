"""POST /v1/state: recorded once per report id, refused whole when wrong."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from appwarden.audit.refusals import DEVICE_SIGNATURE_REFUSED
from appwarden.compliance.models import DeviceEvent, DeviceReport, InstalledApp
from appwarden.compliance.wire import MAX_REPORT_BYTES
from tests.compliance.support import (
    APP_TARGET,
    SIGNER,
    TIKTOK,
    Phone,
    compliance,
    counts,
    hash_of,
)
from tests.decisions.support import actors, ok, problem, reach, seed_catalog
from tests.security.support import refusals
from tests.server import Env


def test_a_full_report_is_stored_and_answered_with_its_hash(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who)
    apps = {TIKTOK: SIGNER, "org.example.notes": None}
    event = {"kind": "removed", "app_id": "com.x", "rule": None, "at": "2026-11-23T08:59:00Z"}
    body = ok(phone.report(apps, report_id="r_first_one", events=[event]))
    assert body == {
        "report_id": "r_first_one",
        "inventory_hash": hash_of(apps),
        "policy_version": 1,
    }
    with env.session() as session:
        stored = dict(session.execute(select(InstalledApp.app_id, InstalledApp.signer)).all())
        assert stored == apps
        assert [e.app_id for e in session.scalars(select(DeviceEvent))] == ["com.x"]
    device = compliance(env, who.aude, f"/devices/{phone.id}/compliance")
    assert device["compliant"] is True and device["applied_version"] == 1


def test_a_retry_with_a_new_nonce_gets_the_same_answer_and_no_second_effect(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who)
    event = {"kind": "user_notified", "app_id": TIKTOK, "rule": None, "at": "2026-11-23T09:00:00Z"}
    phone.policy()
    first = ok(phone.report({TIKTOK: None}, report_id="r_retry_01", version=1, events=[event]))
    before = counts(env)
    again = ok(phone.report({TIKTOK: None}, report_id="r_retry_01", version=1, events=[event]))
    assert again == first
    assert counts(env) == before
    # The same id for a different report is refused, and changes nothing either.
    problem(phone.report({}, report_id="r_retry_01", version=1), 409, "report-id-reused")
    assert counts(env) == before


def test_a_replayed_nonce_a_forged_signature_and_another_device_are_refused(env: Env) -> None:
    who = actors(env)
    phone, other = Phone(env, who), Phone(env, who)
    phone.policy()
    body = json.dumps({"report_id": "r_replayed", "applied_version": 1}).encode()
    headers = phone.signed("POST", "/v1/state", body) | {"Content-Type": "application/json"}
    ok(env.client.post("/v1/state", content=body, headers=headers))
    before = counts(env)
    problem(env.client.post("/v1/state", content=body, headers=headers), 401)
    forged = phone.signed("POST", "/v1/state", body + b" ")
    problem(env.client.post("/v1/state", content=body, headers=forged), 401)
    # My key, the other device's id: the signature does not verify with its key.
    problem(phone.post("/v1/state", body, device_id=other.id), 401)
    assert counts(env) == before


def test_a_reports_signature_is_checked_before_its_body_is_refused(env: Env) -> None:
    """The signature is checked in the transaction that records the report; a body that
    does not parse never gets there, but is still not answered before its signature:
    forged, 401 and audited; signed, 422, with its nonce spent."""
    who = actors(env)
    phone = Phone(env, who)
    ok(phone.report({TIKTOK: None}))
    before = counts(env)
    body = b"{not json"
    json_type = {"Content-Type": "application/json"}
    forged = phone.signed("POST", "/v1/state", body + b" ") | json_type
    problem(env.client.post("/v1/state", content=body, headers=forged), 401)
    [event] = refusals(env, DEVICE_SIGNATURE_REFUSED)
    assert event.object_id == phone.id and event.after["route"] == "POST /v1/state"
    signed = phone.signed("POST", "/v1/state", body) | json_type
    problem(env.client.post("/v1/state", content=body, headers=signed), 422)
    replayed = problem(env.client.post("/v1/state", content=body, headers=signed), 401)
    assert "nonce" in replayed["detail"]
    assert counts(env) == before


def test_a_report_is_one_transaction_with_its_signature(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who)
    phone.policy()
    writes = env.client.app.state.device_writes  # type: ignore[attr-defined]
    batches, reports = writes.batches, writes.report_batches
    ok(phone.report({TIKTOK: None}, version=1))
    assert (writes.batches - batches, writes.report_batches - reports) == (1, 1)


def test_malformed_and_oversized_reports_change_nothing(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who)
    ok(phone.report({TIKTOK: None}))
    before = counts(env)
    bad = [
        b"{not json",
        json.dumps({"report_id": "x", "applied_version": 1}).encode(),  # id too short
        json.dumps({"report_id": "r_12345678", "applied_version": 1, "extra": 1}).encode(),
        json.dumps(
            {
                "report_id": "r_12345678",
                "applied_version": 1,
                "inventory": {"kind": "full", "apps": [{"app_id": "a"}, {"app_id": "a"}]},
            }
        ).encode(),
        json.dumps(
            {"report_id": "r_12345678", "applied_version": 1, "inventory": {"kind": "other"}}
        ).encode(),
    ]
    for body in bad:
        problem(phone.post("/v1/state", body), 422)
    huge = json.dumps(
        {
            "report_id": "r_12345678",
            "applied_version": 1,
            "events": [],
            "pad": "x" * MAX_REPORT_BYTES,
        }
    ).encode()
    problem(phone.post("/v1/state", huge), 413)
    assert counts(env) == before


def test_a_version_never_issued_is_refused(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who)
    phone.policy()
    before = counts(env)
    problem(phone.report({}, version=0), 409, "version-not-issued")
    problem(phone.report({}, version=2), 409, "version-not-issued")
    assert counts(env) == before


def test_deltas_apply_against_the_stored_hash_and_a_wrong_base_is_refused(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who)
    first = ok(phone.report({"a.one": None, "b.two": SIGNER}))
    delta = {
        "kind": "delta",
        "base": first["inventory_hash"],
        "added": [{"app_id": "c.three", "signer": None}],
        "removed": ["a.one"],
    }
    second = ok(phone.report(inventory=delta))
    assert second["inventory_hash"] == hash_of({"b.two": SIGNER, "c.three": None})
    before = counts(env)
    problem(phone.report(inventory=delta), 409, "inventory_mismatch")  # old base
    stale = delta | {"base": second["inventory_hash"], "removed": ["z.never"], "added": []}
    problem(phone.report(inventory=stale), 409, "inventory_mismatch")
    assert counts(env) == before
    unchanged = ok(phone.report(None))
    assert unchanged["inventory_hash"] == second["inventory_hash"]


def test_a_delta_before_any_full_inventory_is_a_mismatch(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who)
    delta = {"kind": "delta", "base": "0" * 64, "added": [], "removed": []}
    problem(phone.report(inventory=delta), 409, "inventory_mismatch")


def test_a_ban_goes_pending_then_non_compliant_then_compliant(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    ok(phone.report({TIKTOK: None}))  # version 1: nothing banned yet
    number = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    assert phone.policy()["version"] == 2
    # The policy changed; the device has not reported since: pending.
    device = compliance(env, who.aude, f"/devices/{phone.id}/compliance")
    assert [d["status"] for d in device["determinations"]] == ["pending"]
    assert device["compliant"] is True  # pending, within the removal deadline
    # Reporting the old version with the app present: still pending (not applied yet).
    ok(phone.report({TIKTOK: None}, version=1))
    assert (
        compliance(env, who.aude, f"/devices/{phone.id}/compliance")["determinations"][0]["status"]
        == "pending"
    )
    # The new version applied, the app still there: non_compliant.
    ok(phone.report({TIKTOK: None}, version=2))
    summary = compliance(env, who.aude, f"/determinations/{number}/compliance")
    assert summary["counts"]["non_compliant"] == 1
    # Removed: compliant.
    ok(phone.report({}, version=2))
    summary = compliance(env, who.aude, f"/determinations/{number}/compliance")
    assert summary["counts"]["compliant"] == 1 and summary["devices"] == 1
    device = compliance(env, who.aude, f"/devices/{phone.id}/compliance")
    assert device["compliant"] is True


def test_an_oversized_chunked_body_is_refused_as_it_arrives(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who)
    phone.policy()
    before = counts(env)
    chunk = b" " * 65536
    body = chunk * (MAX_REPORT_BYTES // len(chunk) + 1)
    headers = phone.signed("POST", "/v1/state", body) | {"Content-Type": "application/json"}
    response = env.client.post(
        "/v1/state", content=(chunk for _ in range(len(body) // len(chunk))), headers=headers
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    problem(response, 413)
    assert counts(env) == before


def test_an_older_version_that_holds_the_rule_is_non_compliant(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    ban = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    assert phone.policy()["version"] == 1
    reach(
        env, who, catalog, "in_force_interim",
        target={"kind": "app", "app_id": "com.other", "platform": None},
    )  # fmt: skip
    assert phone.policy()["version"] == 2
    accepted = ok(phone.report({TIKTOK: None, "com.other": None}, version=1))
    assert accepted["policy_version"] == 2
    device = compliance(env, who.aude, f"/devices/{phone.id}/compliance")
    statuses = {d["determination_id"]: d["status"] for d in device["determinations"]}
    assert statuses[ban] == "non_compliant"  # version 1 already held the ban
    assert set(statuses.values()) == {"non_compliant", "pending"}


def test_report_ids_are_forgotten_after_thirty_days(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who)
    ok(phone.report({}, report_id="r_monthly_1"))
    env.clock.advance(timedelta(days=29))
    ok(phone.report({}, report_id="r_monthly_2"))
    env.clock.advance(timedelta(days=2))
    compliance(env, who.aude, f"/devices/{phone.id}/compliance")  # a read prunes
    with env.session() as session:
        kept = list(session.scalars(select(DeviceReport.report_id)))
    assert kept == ["r_monthly_2"]
