"""docs/policy.md is the rulebook: every row of its tables is checked against the compiler.

The tables are loaded here from the doc, so a row added without code (or code changed
without the row) fails.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from appwarden.policy import DevicePolicy, compile_policy
from appwarden.policy.compile import outcome
from appwarden.policy.matcher import action_for
from appwarden.policy.precedence import LISTS, ActionRow, ConflictRow, PlatformRow, parse, rulebook
from tests.policy.support import APP, DAY, NOW, device, publisher_rule, rule, waiver

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"
BOOK = rulebook()
PLACES = {
    "banned": lambda p: p.banned,
    "blocked": lambda p: p.blocked,
    "allowed": lambda p: p.allowed,
    "monitored": lambda p: p.monitored,
}


def test_docs_and_code_read_one_file() -> None:
    assert DOC.is_symlink(), "docs/policy.md must link to src/appwarden/policy/policy.md"
    assert parse(DOC.read_text(encoding="utf-8")) == BOOK


def test_tables_are_complete() -> None:
    pairs = {(c.first, c.second) for c in BOOK.conflicts}
    for a in ("ban", "block", "allow", "monitor"):
        assert (a, None) in pairs
        for b in ("ban", "block", "allow", "monitor"):
            assert (a, b) in pairs or (b, a) in pairs, (a, b)


@pytest.mark.parametrize("row", BOOK.conflicts, ids=lambda r: f"{r.first}-{r.second}")
def test_precedence_row(row: ConflictRow) -> None:
    rules = [rule(1, row.first)] + ([rule(2, row.second)] if row.second else [])
    policy = compile_policy(device(), rules, [], now=NOW)
    where = {name for name in LISTS if APP in PLACES[name](policy)}
    assert where == row.outcome
    # Which of the two rules has the lower id does not matter.
    swapped = [rule(2, row.first)] + ([rule(1, row.second)] if row.second else [])
    again = compile_policy(device(), swapped, [], now=NOW)
    assert {name for name in LISTS if APP in PLACES[name](again)} == row.outcome


@pytest.mark.parametrize("row", BOOK.actions, ids=lambda r: r.action)
def test_action_row_network(row: ActionRow) -> None:
    policy = compile_policy(device(), [publisher_rule(1, row.action)], [], now=NOW)
    assert bool(policy.network_block) is row.network
    assert row.compliant_when and row.device_must


@pytest.mark.parametrize("row", BOOK.actions, ids=lambda r: r.action)
def test_action_rank_decides_across_target_kinds(row: ActionRow) -> None:
    """A pattern rule of this action against an exact rule of every action."""
    for other in BOOK.actions:
        rules = [rule(1, row.action, target_kind="pattern", target_value="com.example.*")]
        rules.append(rule(2, other.action))
        policy = compile_policy(device(), rules, [], now=NOW)
        listed = {name for name in LISTS if APP in PLACES[name](policy)}
        exact_list = LISTS[other.rank - 1]
        assert listed == outcome({row.action, other.action}, BOOK) & {exact_list}
        winner = row.action if row.rank <= other.rank else other.action
        assert action_for(policy.rules, APP) == winner
        assert policy.allow_list is ("allow" in (row.action, other.action))


def _supervision(row: PlatformRow) -> list[bool]:
    return [True, False] if row.supervised is None else [row.supervised]


@pytest.mark.parametrize(
    "row", BOOK.platforms, ids=lambda r: f"{r.platform}-{r.ownership}-{r.supervised}"
)
def test_platform_row(row: PlatformRow) -> None:
    for supervised in _supervision(row):
        d = device(platform=row.platform, ownership=row.ownership, supervised=supervised)
        rules = [
            rule(i, a, target_value=f"app.n{i}")
            for i, a in enumerate(("ban", "block", "allow", "monitor"), 1)
        ]
        policy = compile_policy(d, rules, [], now=NOW)
        assert policy.management == row.management
        assert {r.action: r.enforcement for r in policy.rules} == row.modes
        assert policy.document()["management"] == row.management


def test_the_ban_meanings_the_issue_asks_for() -> None:
    def ban_mode(platform: str, ownership: str, supervised: bool) -> str:
        return BOOK.platform_row(platform, ownership, supervised).modes["ban"]

    assert ban_mode("android", "corporate", False) == "remove_silently"
    assert ban_mode("android", "byod", False) == "remove_in_profile"
    assert ban_mode("ios", "corporate", True) == "hide_block_remove_managed"
    assert ban_mode("ios", "corporate", False) == "cannot_enforce"
    assert ban_mode("ios", "byod", True) == "cannot_enforce"
    assert "blockedAppBundleIDs" in BOOK.modes["hide_block_remove_managed"]


def _listed(policy: DevicePolicy) -> set[str]:
    return {*policy.banned, *policy.blocked, *policy.allowed, *policy.monitored}


def _scope_group() -> None:
    assert _listed(compile_policy(device(), [rule(scope=["staff"])], [], now=NOW)) == {APP}


def _scope_all() -> None:
    assert compile_policy(device(groups=[]), [rule(scope=["*"])], [], now=NOW).banned == (APP,)


def _scope_other() -> None:
    policy = compile_policy(device(), [rule(scope=["contractors"])], [], now=NOW)
    assert policy.rules == () and _listed(policy) == set()


def _groups_conflict() -> None:
    d = device(groups=["staff", "execs"])
    rules = [rule(1, "monitor", scope=["staff"]), rule(2, "ban", scope=["execs"])]
    policy = compile_policy(d, rules, [], now=NOW)
    assert policy.banned == (APP,) and policy.monitored == ()


def _platform_other() -> None:
    rules = [rule(platform="ios")]
    assert compile_policy(device(platform="android"), rules, [], now=NOW).rules == ()
    assert compile_policy(device(platform="ios"), rules, [], now=NOW).banned == (APP,)


def _not_yet() -> None:
    policy = compile_policy(device(), [rule(effective_at=NOW + DAY)], [], now=NOW)
    assert policy.rules == () and policy.next_change_at == NOW + DAY
    at_start = compile_policy(device(), [rule(effective_at=NOW)], [], now=NOW)
    assert at_start.banned == (APP,)


def _rule_expired() -> None:
    assert compile_policy(device(), [rule(expires_at=NOW)], [], now=NOW).rules == ()
    policy = compile_policy(device(), [rule(expires_at=NOW + DAY)], [], now=NOW)
    assert policy.document()["rules"][0]["expires_at"] == (NOW + DAY).isoformat()


def _waiver_device() -> None:
    rules = [rule(1, "ban"), rule(2, "ban", target_value="com.other")]
    policy = compile_policy(device(), rules, [waiver(determination_id=1, devices=["d-1"])], now=NOW)
    assert policy.banned == ("com.other",)
    other = compile_policy(device("d-2"), rules, [waiver(devices=["d-1"])], now=NOW)
    assert other.banned == ("com.example.chat", "com.other")


def _waiver_user() -> None:
    w = [waiver(users=["alice"])]
    assert compile_policy(device(user="alice"), [rule()], w, now=NOW).banned == ()
    assert compile_policy(device(user="bob"), [rule()], w, now=NOW).banned == (APP,)


def _waiver_other() -> None:
    w = [waiver(devices=["d-9"], users=["bob"])]
    base = compile_policy(device(), [rule()], [], now=NOW)
    assert compile_policy(device(), [rule()], w, now=NOW) == base


def _waiver_expired() -> None:
    w = [waiver(devices=["d-1"], expires_at=NOW)]
    assert compile_policy(device(), [rule()], w, now=NOW).banned == (APP,)


def _waiver_until() -> None:
    w = [waiver(1, devices=["d-1"], expires_at=NOW + DAY), waiver(2, users=["alice"])]
    policy = compile_policy(device(), [rule(title="TikTok ban")], w, now=NOW)
    (entry,) = policy.document()["rules"]
    assert entry["waived_until"] == (NOW + 30 * DAY).isoformat()
    assert policy.messages == () and _listed(policy) == set()


CASES: dict[str, Callable[[], None]] = {
    "scope_group": _scope_group,
    "scope_all": _scope_all,
    "scope_other": _scope_other,
    "groups_conflict": _groups_conflict,
    "platform_other": _platform_other,
    "not_yet": _not_yet,
    "rule_expired": _rule_expired,
    "waiver_device": _waiver_device,
    "waiver_user": _waiver_user,
    "waiver_other": _waiver_other,
    "waiver_expired": _waiver_expired,
    "waiver_until": _waiver_until,
}


def test_every_case_has_a_check() -> None:
    assert set(BOOK.cases) == set(CASES)


@pytest.mark.parametrize("case", sorted(BOOK.cases))
def test_case_row(case: str) -> None:
    CASES[case]()


def test_the_table_is_the_designed_precedence() -> None:
    """Pinned here, not read from the doc: an edit to the table must be deliberate."""
    rows = {(c.first, c.second): c.outcome for c in BOOK.conflicts}
    assert [a.action for a in sorted(BOOK.actions, key=lambda a: a.rank)] == [
        "ban",
        "block",
        "allow",
        "monitor",
    ]
    assert rows[("ban", "block")] == {"banned"}
    assert rows[("ban", "allow")] == {"banned"}, "a ban still removes an allow-listed app"
    assert rows[("block", "monitor")] == {"blocked"}
    actions = {a.action: a for a in BOOK.actions}
    assert "existing copy is compliant" in actions["block"].compliant_when
    assert actions["monitor"].non_compliant_when == "never"
    assert actions["ban"].compliant_when == "the app is absent"
    assert [a.action for a in BOOK.actions if a.network] == ["ban"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("| ban | 1 |", "| ban | 5 |", "rank ban, block, allow, monitor"),
        ("| ban | block | banned |", "| ban | block | erased |", "bad precedence row"),
        ("| hide_block_remove_managed | hide_block |", "| zap | hide_block |", "undefined modes"),
        ("| ios | byod | any |", "| ios | byod | yes |", "no platform row for ios/byod"),
        ("| android | byod |", "| windows | byod |", "bad platform row"),
    ],
)
def test_a_broken_table_is_refused(old: str, new: str, message: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(ValueError, match=message):
        parse(text.replace(old, new, 1))
