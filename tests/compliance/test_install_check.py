"""POST /v1/install-check: decided on the device's current policy with the matcher."""

from __future__ import annotations

import json

from tests.compliance.support import APP_TARGET, SIGNER, TIKTOK, Phone, counts
from tests.decisions.support import actors, problem, reach, seed_catalog
from tests.server import Env


def test_ban_block_pattern_and_signer_refuse_other_apps_are_allowed(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    assert phone.install_check(TIKTOK) == {
        "allowed": True, "rule": None, "action": None, "message": None,
    }  # fmt: skip
    ban = reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    block = reach(
        env, who, catalog, "in_force_interim", action="block",
        target={"kind": "pattern", "pattern": "com.tencent.*", "platform": None},
    )  # fmt: skip
    signer = reach(
        env, who, catalog, "in_force_interim", target={"kind": "signer", "sha256": SIGNER}
    )
    banned = phone.install_check(TIKTOK)
    assert (banned["allowed"], banned["rule"], banned["action"]) == (False, ban, "ban")
    assert banned["message"]
    blocked = phone.install_check("com.tencent.mm")
    assert (blocked["allowed"], blocked["rule"], blocked["action"]) == (False, block, "block")
    signed = phone.install_check("org.unrelated", SIGNER.upper())
    assert (signed["allowed"], signed["rule"], signed["action"]) == (False, signer, "ban")
    assert phone.install_check("org.unrelated")["allowed"] is True


def test_allow_list_mode_refuses_what_no_allow_rule_lists(env: Env) -> None:
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    allow = reach(
        env, who, catalog, "in_force_interim", action="allow",
        target={"kind": "pattern", "pattern": "org.example.*", "platform": None},
    )  # fmt: skip
    listed = phone.install_check("org.example.mail")
    assert (listed["allowed"], listed["rule"], listed["action"]) == (True, allow, "allow")
    other = phone.install_check("com.unlisted")
    assert (other["allowed"], other["rule"], other["action"]) == (False, allow, "allow")


def test_malformed_checks_are_refused(env: Env) -> None:
    who = actors(env)
    phone = Phone(env, who)
    before = counts(env)
    for body in (b"{", b'{"app_id": ""}', b'{"app_id": "a", "signer": "zz"}', b'{"x": 1}'):
        problem(phone.post("/v1/install-check", body), 422)
    problem(env.client.post("/v1/install-check", content=json.dumps({"app_id": "a"})), 401)
    assert counts(env) == before
