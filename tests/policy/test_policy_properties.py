"""Property: the compiled document depends on the inputs, never on their order."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from appwarden.policy import RuleInput, WaiverInput, compile_fleet, compile_policy
from appwarden.policy.precedence import rulebook
from tests.policy.support import DAY, NOW, device, publisher_rule, rule, waiver

APPS = ["com.a", "com.b", "com.a.x", "org.c"]
GROUPS = ["staff", "execs", "*", "contractors"]
ACTIONS = ["ban", "block", "allow", "monitor"]
TIMES = [None, NOW - DAY, NOW, NOW + DAY]


@st.composite
def rules(draw: Any) -> list[RuleInput]:
    count = draw(st.integers(0, 8))
    out = []
    for i in range(1, count + 1):
        action = draw(st.sampled_from(ACTIONS))
        scope = draw(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=3))
        expires = draw(st.sampled_from(TIMES))
        kind = draw(st.sampled_from(["app", "app", "pattern", "publisher", "signer"]))
        common = {"scope": scope, "expires_at": expires, "title": f"rule {i}"}
        if kind == "publisher":
            out.append(publisher_rule(i, action, **common))
        elif kind == "pattern":
            out.append(rule(i, action, target_kind="pattern", target_value="com.a.*", **common))
        elif kind == "signer":
            out.append(rule(i, action, target_kind="signer", target_value="ab" * 32, **common))
        else:
            out.append(rule(i, action, target_value=draw(st.sampled_from(APPS)), **common))
    return out


@st.composite
def waivers(draw: Any, rule_count: int) -> list[WaiverInput]:
    out = []
    for i in range(draw(st.integers(0, 4))):
        out.append(
            waiver(
                i,
                determination_id=draw(st.integers(1, max(rule_count, 1))),
                devices=draw(st.lists(st.sampled_from(["d-1", "d-2"]), max_size=2)),
                users=draw(st.lists(st.sampled_from(["alice", "bob"]), min_size=1, max_size=2)),
                expires_at=draw(st.sampled_from([NOW, NOW + DAY, NOW + 9 * DAY])),
            )
        )
    return out


@st.composite
def inputs(draw: Any) -> tuple[list[RuleInput], list[WaiverInput]]:
    rs = draw(rules())
    return rs, draw(waivers(len(rs)))


@settings(max_examples=150, deadline=None)
@given(inputs(), st.randoms(use_true_random=False), st.sampled_from(["android", "ios"]))
def test_shuffled_inputs_give_the_same_document(
    data: tuple[list[RuleInput], list[WaiverInput]], rnd: Any, platform: str
) -> None:
    rs, ws = data
    d = device(platform=platform, groups=["staff", "execs"])
    first = compile_policy(d, rs, ws, now=NOW)
    rs2, ws2 = list(rs), list(ws)
    rnd.shuffle(rs2)
    rnd.shuffle(ws2)
    again = compile_policy(d, rs2, ws2, now=NOW)
    assert again.document() == first.document() and again.etag == first.etag
    book = rulebook()
    assert not any(book.is_shared(x) for x in first.network_block)
    # Lists never contradict each other: ban and block exclude every other list.
    for app in first.banned:
        assert app not in first.blocked + first.allowed + first.monitored
    for app in first.blocked:
        assert app not in first.allowed + first.monitored


@settings(max_examples=50, deadline=None)
@given(inputs())
def test_fleet_sharing_never_changes_a_document(
    data: tuple[list[RuleInput], list[WaiverInput]],
) -> None:
    rs, ws = data
    devices = [
        device("d-1", user="alice", groups=["staff"]),
        device("d-2", user="bob", groups=["staff"]),
        device("d-3", user="carol", groups=["staff"]),
        device("d-4", user="dan", groups=["execs", "contractors"], ownership="contractor"),
    ]
    fleet = compile_fleet(devices, rs, ws, now=NOW)
    for d in devices:
        alone = compile_policy(d, rs, ws, now=NOW)
        assert fleet[d.device_id].document() == alone.document()
        assert fleet[d.device_id].next_change_at == alone.next_change_at
