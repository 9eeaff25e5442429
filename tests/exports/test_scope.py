"""The determinations in force for a group, resolved per platform for the exports."""

from __future__ import annotations

import datetime

from appwarden.policy import RuleInput, WaiverInput
from tests.exports.support import GROUP, LEMON8, NOW, PATTERN, SIGNER, TIKTOK, TRILL, allow, lists


def test_lists_per_platform_follow_scope_platform_and_precedence() -> None:
    resolved = lists()
    assert resolved.android.banned == (TRILL, TIKTOK)
    assert resolved.ios.banned == (LEMON8, TIKTOK)
    assert resolved.android.blocked == resolved.ios.blocked == ("com.block",)
    assert "com.staff" not in resolved.android.refused + resolved.ios.refused
    assert not resolved.android.allow_list


def test_a_ban_wins_over_an_allow_rule_for_the_same_app() -> None:
    resolved = lists(allow(TIKTOK, "com.allowed"))
    assert resolved.ios.allow_list
    assert resolved.ios.allowed == ("com.allowed",)
    assert TIKTOK in resolved.ios.banned


def test_unexpressible_targets_are_named_in_warnings() -> None:
    text = "\n".join(lists().warnings)
    assert PATTERN in text and "app-id pattern" in text
    assert SIGNER in text and "signer certificate" in text
    assert "determination 2" in text and "not in the catalog" in text  # a publisher
    assert "determination 6" not in text  # another group's rule


def test_a_waiver_on_a_rule_in_scope_is_a_warning() -> None:
    waiver = WaiverInput(
        id=9, determination_id=1, expires_at=NOW + datetime.timedelta(days=3), devices=["d1"]
    )
    lapsed = WaiverInput(id=10, determination_id=1, expires_at=NOW, devices=["d2"])
    text = "\n".join(lists(waivers=[waiver, lapsed]).warnings)
    assert "waiver 9" in text and "waiver 10" not in text


def test_rules_not_yet_in_effect_or_expired_are_left_out() -> None:
    later = RuleInput(
        id=20, action="ban", target_kind="app", target_value="com.later", scope=[GROUP],
        effective_at=NOW + datetime.timedelta(hours=1),
    )  # fmt: skip
    ended = RuleInput(
        id=21, action="ban", target_kind="app", target_value="com.ended", scope=[GROUP],
        expires_at=NOW,
    )  # fmt: skip
    refused = lists([later, ended]).android.refused
    assert "com.later" not in refused and "com.ended" not in refused


def test_domains_skip_shared_infrastructure_and_allowed_apps_endpoints() -> None:
    assert lists().domains == (
        "api16.tiktokv.com",
        "bytedance.com",
        "log.byteoversea.com",
        "tiktokv.com",
    )
    with_allowed = lists(allow("com.allowed")).domains
    assert "log.byteoversea.com" not in with_allowed  # an allowed app uses it
    assert "bytedance.com" in with_allowed


def test_the_every_device_scope_gets_only_rules_for_every_device() -> None:
    resolved = lists(scope="*")
    assert resolved.android.refused == ("com.block",)
