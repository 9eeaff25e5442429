"""The simulated package manager enforces every action, target kind and enforcement mode."""

from __future__ import annotations

import pytest

from appwarden.sim.inventory import InstalledApp, inventory_hash
from appwarden.sim.packages import SimulatedPackageManager
from tests.policy.support import APP, DAY, NOW, publisher_rule, rule, waiver
from tests.sim.support import SIGNER, cached

OTHER = "org.example.notes"


def _phone(*apps: InstalledApp) -> SimulatedPackageManager:
    return SimulatedPackageManager(apps or (InstalledApp(APP), InstalledApp(OTHER)))


@pytest.mark.parametrize(
    ("target", "app"),
    [
        ({"target_kind": "app", "target_value": APP}, InstalledApp(APP)),
        ({"target_kind": "pattern", "target_value": "com.example.*"}, InstalledApp(APP)),
        ({"target_kind": "signer", "target_value": SIGNER}, InstalledApp(APP, SIGNER)),
    ],
    ids=["app", "pattern", "signer"],
)
def test_a_ban_removes_the_app_it_covers_and_nothing_else(
    target: dict[str, str], app: InstalledApp
) -> None:
    phone = _phone(app, InstalledApp(OTHER))
    events = phone.enforce(cached([rule(1, "ban", **target)]), NOW)
    assert [(e.kind, e.app_id, e.rule) for e in events] == [("removed", APP, 1)]
    assert [a.app_id for a in phone.inventory()] == [OTHER]


def test_a_publisher_ban_removes_the_publishers_apps() -> None:
    phone = _phone(InstalledApp("com.zhiliaoapp.musically"), InstalledApp(OTHER))
    events = phone.enforce(cached([publisher_rule(4)]), NOW)
    assert [(e.kind, e.app_id, e.rule) for e in events] == [
        ("removed", "com.zhiliaoapp.musically", 4)
    ]


def test_a_signer_ban_leaves_the_same_app_signed_by_someone_else() -> None:
    phone = _phone(InstalledApp(APP, "cd" * 32))
    assert phone.enforce(cached([rule(1, target_kind="signer", target_value=SIGNER)]), NOW) == []
    assert phone.has(APP)


def test_a_message_notifies_the_user_before_removal() -> None:
    phone = _phone()
    events = phone.enforce(cached([rule(2, title="Banned", message="TikTok is banned.")]), NOW)
    assert [e.kind for e in events] == ["user_notified", "removed"]


@pytest.mark.parametrize(
    ("attributes", "removed"),
    [
        ({"ownership": "corporate"}, True),  # remove_silently
        ({"ownership": "byod"}, True),  # remove_in_profile
        ({"platform": "ios", "ownership": "corporate", "supervised": True}, True),
        ({"platform": "ios", "ownership": "corporate", "supervised": False}, False),
        ({"platform": "ios", "ownership": "byod"}, False),  # cannot_enforce: only reported
    ],
    ids=["android-managed", "android-profile", "ios-supervised", "ios-unsupervised", "ios-byod"],
)
def test_ban_modes(attributes: dict[str, object], removed: bool) -> None:
    phone = _phone()
    policy = cached([rule(1)], **attributes)
    events = phone.enforce(policy, NOW)
    assert phone.has(APP) is not removed
    assert bool(events) is removed
    assert phone.check(policy, InstalledApp(APP), NOW).allowed is not removed


def test_block_keeps_the_installed_copy_and_refuses_a_new_install() -> None:
    phone = _phone(InstalledApp(OTHER))
    policy = cached([rule(3, "block", target_value=APP)])
    phone.add(InstalledApp("com.example.kept"))
    assert phone.enforce(cached([rule(3, "block", target_value="com.example.kept")]), NOW) == []
    result = phone.install(policy, InstalledApp(APP), NOW)
    assert not result.allowed and result.action == "block" and result.rule == 3
    assert [e.kind for e in result.events] == ["install_blocked"]
    assert not phone.has(APP)


def test_monitor_only_reports() -> None:
    phone = _phone()
    policy = cached([rule(5, "monitor")])
    assert phone.enforce(policy, NOW) == []
    assert phone.install(policy, InstalledApp(APP), NOW).allowed


def test_allow_list_refuses_unlisted_installs_and_keeps_installed_ones() -> None:
    phone = _phone()
    policy = cached([rule(6, "allow", target_value=OTHER)])
    assert phone.enforce(policy, NOW) == []  # nothing removed
    refused = phone.install(policy, InstalledApp("com.example.new"), NOW)
    assert not refused.allowed and refused.action == "allow" and refused.rule == 6
    assert phone.install(policy, InstalledApp(OTHER), NOW).allowed


def test_allow_list_cannot_be_enforced_on_byod_ios() -> None:
    phone = _phone()
    policy = cached([rule(6, "allow", target_value=OTHER)], platform="ios", ownership="byod")
    assert phone.install(policy, InstalledApp("com.example.new"), NOW).allowed


def test_a_ban_beats_an_allow_on_the_same_app() -> None:
    phone = _phone()
    policy = cached([rule(1, "allow"), rule(2, "ban")])
    assert [e.rule for e in phone.enforce(policy, NOW)] == [2]


def test_a_waived_ban_binds_once_the_waiver_lapses_and_a_rule_ends_at_its_expiry() -> None:
    policy = cached(
        [rule(1, "ban"), rule(2, "block", target_value=OTHER, expires_at=NOW + 3 * DAY)],
        [waiver(9, 1, devices=["d-1"], expires_at=NOW + 2 * DAY)],
    )
    phone = _phone()
    assert phone.enforce(policy, NOW + DAY) == []
    assert not phone.check(policy, InstalledApp(OTHER), NOW + DAY).allowed
    assert [e.app_id for e in phone.enforce(policy, NOW + 2 * DAY)] == [APP]
    assert phone.check(policy, InstalledApp(OTHER), NOW + 3 * DAY).allowed


def test_no_policy_allows_everything() -> None:
    assert SimulatedPackageManager().check(None, InstalledApp(APP), NOW).allowed


def test_inventory_hash_follows_the_contract() -> None:
    import hashlib

    apps = [InstalledApp("com.b", SIGNER), InstalledApp("com.a")]
    text = f"com.a\t\ncom.b\t{SIGNER}\n"
    assert inventory_hash(apps) == hashlib.sha256(text.encode()).hexdigest()
    assert inventory_hash(reversed(apps)) == inventory_hash(apps)
    assert inventory_hash([]) == hashlib.sha256(b"").hexdigest()


def test_app_specs() -> None:
    assert InstalledApp.parse(f"com.a:{SIGNER.upper()}") == InstalledApp("com.a", SIGNER)
    assert InstalledApp.parse("com.a") == InstalledApp("com.a")
    with pytest.raises(ValueError):
        InstalledApp.parse("com.a:xyz")


@pytest.mark.parametrize(
    ("attributes", "mode", "refused"),
    [
        ({"ownership": "corporate"}, "block_install", True),
        ({"ownership": "contractor"}, "block_install_in_profile", True),
        ({"platform": "ios", "ownership": "corporate", "supervised": True}, "hide_block", True),
        ({"platform": "ios", "ownership": "contractor"}, "cannot_enforce", False),
    ],
    ids=["android-managed", "android-profile", "ios-supervised", "ios-unsupervised"],
)
def test_block_modes(attributes: dict[str, object], mode: str, refused: bool) -> None:
    policy = cached([publisher_rule(5, "block")], **attributes)
    assert policy.rules[0].enforcement == mode
    phone = SimulatedPackageManager([InstalledApp("com.zhiliaoapp.musically")])
    assert phone.enforce(policy, NOW) == []  # a block never removes
    result = phone.install(policy, InstalledApp("com.lemon.lvoverseas"), NOW)
    assert result.allowed is not refused
    assert [e.kind for e in result.events] == (["install_blocked"] if refused else [])
