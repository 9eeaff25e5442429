"""The pure judgement: inventory hash, precedence of statuses, install decisions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from appwarden.compliance.status import (
    Judgement,
    Observed,
    entries_of,
    install_decision,
    inventory_hash,
    judge,
    overall,
)
from appwarden.policy.model import RuleEntry, Target

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _rule(
    rule_id: int = 1,
    action: str = "ban",
    target: Target | None = None,
    *,
    enforcement: str = "remove_silently",
    waived_until: datetime | None = None,
) -> RuleEntry:
    return RuleEntry(
        id=rule_id,
        action=action,
        target=target or Target(kind="app", value="com.bad"),
        platform=None,
        enforcement=enforcement,
        effective_at=NOW - timedelta(hours=1),
        removal_deadline=None,
        expires_at=None,
        waived_until=waived_until,
    )


def _seen(apps: dict[str, str | None] | None, **changes: object) -> Observed:
    values: dict[str, object] = {
        "now": NOW, "apps": apps, "reported_at": NOW, "applied_rules": frozenset({1}),
        "unreachable": False,
    }  # fmt: skip
    values.update(changes)
    return Observed(**values)  # type: ignore[arg-type]


def test_the_inventory_hash_is_the_documented_one() -> None:
    text = "a.one\t\nb.two\tff\n"
    assert (
        inventory_hash({"b.two": "ff", "a.one": None}) == hashlib.sha256(text.encode()).hexdigest()
    )


def test_statuses_in_their_order_of_precedence() -> None:
    ban = _rule()
    since = NOW - timedelta(hours=1)
    assert judge(ban, [ban], _seen({"com.bad": None}), since).status == "non_compliant"
    assert judge(ban, [ban], _seen({}), since).status == "compliant"
    assert judge(ban, [ban], _seen(None), since).status == "pending"
    old = _seen({}, reported_at=NOW - timedelta(hours=2))
    assert judge(ban, [ban], old, since).status == "pending"
    unapplied = _seen({"com.bad": None}, applied_rules=frozenset())
    assert judge(ban, [ban], unapplied, since).status == "pending"
    silent = _seen({"com.bad": None}, unreachable=True)
    assert judge(ban, [ban], silent, since).status == "unreachable"
    byod = _rule(enforcement="cannot_enforce")
    assert judge(byod, [byod], silent, since) == Judgement("cannot_enforce", True)
    waived = _rule(waived_until=NOW + timedelta(days=1))
    assert judge(waived, [waived], silent, since).status == "exempt"
    lapsed = _rule(waived_until=NOW)
    assert judge(lapsed, [lapsed], _seen({"com.bad": None}), since).status == "non_compliant"


def test_overall_verdict() -> None:
    assert overall([]) is True
    assert overall([Judgement("compliant", False), Judgement("exempt", True)]) is True
    assert overall([Judgement("cannot_enforce", None)]) is True
    assert overall([Judgement("cannot_enforce", True)]) is False
    assert overall([Judgement("pending", None)]) is True  # within the removal deadline
    assert overall([Judgement("pending", True, overdue=True)]) is False
    assert overall([Judgement("unreachable", None)]) is False
    assert overall([Judgement("non_compliant", True)]) is False


def test_install_decisions_and_documents_round_trip() -> None:
    ban = _rule(1, "ban", Target(kind="signer", value="ab" * 32))
    allow = _rule(
        2, "allow", Target(kind="pattern", value="org.example.*"), enforcement="allow_list"
    )
    rules = [ban, allow]
    assert install_decision(rules, True, "org.example.x", "AB" * 32, NOW) == (False, 1, "ban")
    assert install_decision(rules, True, "org.example.x", None, NOW) == (True, 2, "allow")
    assert install_decision(rules, True, "com.other", None, NOW) == (False, 2, "allow")
    assert install_decision([ban], False, "com.other", None, NOW) == (True, None, None)
    document = {"rules": [r.document() for r in rules]}
    assert entries_of(document) == rules
