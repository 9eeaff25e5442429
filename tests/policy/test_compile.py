"""compile_policy: expiry carried for offline devices, network domains, ETags, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from appwarden.policy import DeviceInput, RuleInput, WaiverInput, compile_fleet, compile_policy
from appwarden.policy.matcher import action_for, pattern_matches
from appwarden.policy.model import canonical_json
from appwarden.policy.precedence import rulebook
from tests.policy.support import APP, DAY, NOW, device, publisher_rule, rule, waiver

SHARED = rulebook().shared_suffixes
ROOT = Path(__file__).resolve().parents[2]


def test_policy_carries_rule_and_waiver_expiry_for_offline_lapse() -> None:
    rules = [rule(1, expires_at=NOW + 7 * DAY), rule(2, "ban", target_value="com.other")]
    waivers = [waiver(determination_id=2, devices=["d-1"], expires_at=NOW + 3 * DAY)]
    policy = compile_policy(device(), rules, waivers, now=NOW)
    assert policy.banned == (APP,)
    assert policy.next_change_at == NOW + 3 * DAY
    # The device, offline, decides from its cached rules as time passes.
    assert action_for(policy.rules, APP, at=NOW) == "ban"
    assert action_for(policy.rules, "com.other", at=NOW) is None
    assert action_for(policy.rules, "com.other", at=NOW + 3 * DAY) == "ban"
    assert action_for(policy.rules, APP, at=NOW + 7 * DAY) is None
    # And the server, recompiling then, agrees.
    later = compile_policy(device(), rules, waivers, now=NOW + 7 * DAY)
    assert later.banned == ("com.other",) and later.next_change_at is None


def test_removal_deadline_and_messages_are_carried() -> None:
    r = rule(removal_deadline=NOW + 2 * DAY, title="TikTok", message="Removed by order 2027-3")
    policy = compile_policy(device(), [r], [], now=NOW)
    doc = policy.document()
    assert doc["rules"][0]["removal_deadline"] == "2027-03-03T12:00:00+00:00"
    assert doc["messages"] == [{"rule": 1, "title": "TikTok", "text": "Removed by order 2027-3"}]


def test_publisher_ban_blocks_own_domains_never_shared_infrastructure() -> None:
    domains = ["tiktokv.com", "BYTEDANCE.com", *SHARED, "tiktok.googleapis.com", "x.apple.com"]
    policy = compile_policy(device(), [publisher_rule(publisher_domains=domains)], [], now=NOW)
    assert policy.network_block == ("bytedance.com", "tiktokv.com")
    text = canonical_json(policy.document()).decode()
    for suffix in SHARED:
        assert f'"{suffix}"' not in text and f'.{suffix}"' not in text
    assert action_for(policy.rules, "com.lemon.lvoverseas") == "ban"
    assert policy.document()["publishers"][0]["publisher_ids"] == [7, 8]


def test_only_a_ban_blocks_the_network_and_a_waiver_lifts_it() -> None:
    assert (
        compile_policy(device(), [publisher_rule(action="block")], [], now=NOW).network_block == ()
    )
    waived = compile_policy(device(), [publisher_rule()], [waiver(devices=["d-1"])], now=NOW)
    assert waived.network_block == () and waived.document()["publishers"] == []


def test_malformed_domain_is_refused() -> None:
    with pytest.raises(ValueError, match="not a domain name"):
        compile_policy(device(), [publisher_rule(publisher_domains=["bad domain"])], [], now=NOW)


def test_signer_and_pattern_rules() -> None:
    sha = "AB" * 32
    rules = [
        rule(1, "ban", target_kind="signer", target_value=sha),
        rule(2, "block", target_kind="pattern", target_value="com.kaspersky.*"),
    ]
    policy = compile_policy(device(), rules, [], now=NOW)
    assert policy.document()["signers"] == [
        {"rule": 1, "action": "ban", "kind": "signer", "value": sha.lower()}
    ]
    assert action_for(policy.rules, "any.app", [sha.lower()]) == "ban"
    assert action_for(policy.rules, "com.kaspersky.security.mobile") == "block"
    assert action_for(policy.rules, "com.kaspersky") is None
    assert pattern_matches("com.kaspersky.*", "com.kaspersky.a.b")
    assert not pattern_matches("com.k.*", "comxk.a")


def test_etag_is_the_content_hash_and_shared_by_equal_inputs() -> None:
    rules = [rule(1), rule(2, "monitor", target_value="com.x", scope=["execs"])]
    a = compile_policy(device("d-1", user="alice"), rules, [], now=NOW)
    b = compile_policy(device("d-2", user="bob", groups=["staff", "x"]), rules, [], now=NOW)
    c = compile_policy(device("d-3", groups=["execs"]), rules, [], now=NOW)
    ios = compile_policy(device("d-4", platform="ios"), rules, [], now=NOW)
    assert a.etag == b.etag and len(a.etag) == 64
    assert len({a.etag, c.etag, ios.etag}) == 3
    assert json.loads(canonical_json(a.document())) == a.document()


def test_etag_is_stable_across_processes() -> None:
    """Hash seeds differ between runs; the ETag must not (no set or dict order leaks)."""
    code = (
        "from tests.policy.support import *;"
        "from appwarden.policy import compile_policy;"
        "print(compile_policy(device(groups=['b','a','staff']),"
        "[publisher_rule(2), rule(1,'allow'), rule(3,'monitor',target_value='z.z')],"
        "[waiver(determination_id=3, users=['alice','zed'])], now=NOW).etag)"
    )
    etags = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(seed), "PYTHONPATH": "."},
            cwd=ROOT,
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(etags) == 1


def test_compile_fleet_compiles_once_per_distinct_input() -> None:
    devices = [device(f"d-{i}", user=f"u{i}", groups=["staff", f"g{i % 2}"]) for i in range(10)]
    rules = [rule(1), rule(2, "block", target_value="com.y", scope=["g1"])]
    waivers = [waiver(determination_id=1, devices=["d-0"])]
    fleet = compile_fleet(devices, rules, waivers, now=NOW)
    assert len(fleet) == 10
    assert len({id(p) for p in fleet.values()}) == 3  # waived d-0, g0, g1
    for d in devices:
        assert fleet[d.device_id] == compile_policy(d, rules, waivers, now=NOW)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: rule(action="nuke"), "unknown action 'nuke'"),
        (lambda: rule(target_kind="website"), "unknown target kind"),
        (lambda: rule(platform="windows"), "unknown platform 'windows'"),
        (lambda: device(platform="symbian"), "unknown platform 'symbian'"),
        (lambda: device(ownership="borrowed"), "unknown ownership"),
        (lambda: rule(target_kind="publisher"), "needs publisher_ids"),
        (lambda: rule(target_value=""), "needs target_value"),
        (lambda: rule(expires_at=datetime(2027, 1, 1)), "timezone-aware"),
        (lambda: waiver(), "names no device and no user"),
        (lambda: device(groups="staff"), "not one string"),
    ],
)
def test_bad_input_is_a_clear_value_error(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_bad_compile_arguments() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        compile_policy(device(), [], [], now=datetime(2027, 1, 1))
    with pytest.raises(ValueError, match="share one determination id"):
        compile_policy(device(), [rule(1), rule(1)], [], now=NOW)


def test_inputs_are_plain_frozen_values() -> None:
    r: RuleInput = rule(scope=["b", "a", "a"])
    d: DeviceInput = device(groups=("z", "a"))
    w: WaiverInput = waiver(devices=["y", "x"])
    assert (r.scope, d.groups, w.devices) == (("a", "b"), ("a", "z"), ("x", "y"))
    with pytest.raises(AttributeError):
        r.action = "monitor"  # type: ignore[misc]


def test_the_shared_infrastructure_list_keeps_the_big_providers() -> None:
    required = {
        "googleapis.com", "gstatic.com", "google.com", "amazonaws.com", "cloudfront.net",
        "akamaized.net", "apple.com", "icloud.com", "microsoft.com", "azureedge.net",
        "fastly.net",
    }  # fmt: skip
    assert required <= set(SHARED)
    assert rulebook().is_shared("cdn.tiktok.akamaized.net")
    assert not rulebook().is_shared("notgoogle.com")
