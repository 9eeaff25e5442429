"""Determinations in force × a device's groups × its waivers → the device's policy.

Pure and deterministic: no database, no clock (``now`` is an argument), no I/O, and no
dependence on input order, so equal inputs always give the same document and ETag. The
rules it follows are the tables of ``policy.md`` (:mod:`appwarden.policy.precedence`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from appwarden.policy.matcher import covers, in_effect
from appwarden.policy.model import (
    DeviceInput,
    DevicePolicy,
    Message,
    RuleEntry,
    RuleInput,
    Target,
    WaiverInput,
)
from appwarden.policy.precedence import LISTS, Rulebook, rulebook

ALL_DEVICES = "*"
_LIST_OF = dict(zip(("ban", "block", "allow", "monitor"), LISTS, strict=True))
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$")


def _check_now(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def in_scope(device: DeviceInput, rule: RuleInput) -> bool:
    """The device is in one of the rule's groups (or the scope is every device)."""
    if rule.platform is not None and rule.platform != device.platform:
        return False
    return ALL_DEVICES in rule.scope or not set(rule.scope).isdisjoint(device.groups)


def rule_applies(device: DeviceInput, rule: RuleInput, now: datetime) -> bool:
    """In scope, and ``now`` within [effective_at, expires_at)."""
    if rule.effective_at is not None and now < rule.effective_at:
        return False
    if rule.expires_at is not None and now >= rule.expires_at:
        return False
    return in_scope(device, rule)


def waiver_applies(device: DeviceInput, waiver: WaiverInput, now: datetime) -> bool:
    """Names this device or its user, and has not expired."""
    named = device.device_id in waiver.devices or (
        device.user is not None and device.user in waiver.users
    )
    return named and now < waiver.expires_at


def _waived_until(
    device: DeviceInput, waivers: Iterable[WaiverInput], now: datetime
) -> dict[int, datetime]:
    """Per determination, the latest expiry of the waivers exempting this device."""
    until: dict[int, datetime] = {}
    for waiver in waivers:
        if waiver_applies(device, waiver, now):
            current = until.get(waiver.determination_id)
            if current is None or waiver.expires_at > current:
                until[waiver.determination_id] = waiver.expires_at
    return until


def _domains(rule: RuleInput, book: Rulebook) -> tuple[str, ...]:
    """A publisher's own registered domains; shared infrastructure never gets through."""
    kept = []
    for domain in rule.publisher_domains:
        name = domain.rstrip(".")
        if not _DOMAIN.match(name):
            raise ValueError(f"rule {rule.id}: {domain!r} is not a domain name")
        if not book.is_shared(name):
            kept.append(name)
    return tuple(sorted(set(kept)))


def _entry(rule: RuleInput, mode: str, waived_until: datetime | None, book: Rulebook) -> RuleEntry:
    target = Target(
        kind=rule.target_kind,
        value=rule.target_value if rule.target_kind != "publisher" else None,
        publisher_ids=tuple(rule.publisher_ids),
        app_ids=tuple(rule.publisher_app_ids),
        domains=_domains(rule, book) if rule.target_kind == "publisher" else (),
    )
    return RuleEntry(
        id=rule.id,
        action=rule.action,
        target=target,
        platform=rule.platform,
        enforcement=mode,
        effective_at=rule.effective_at,
        removal_deadline=rule.removal_deadline,
        expires_at=rule.expires_at,
        waived_until=waived_until,
    )


def outcome(actions: set[str], book: Rulebook) -> frozenset[str]:
    """The lists an app ends up in when rules with ``actions`` cover it (the table)."""
    if not actions:
        return frozenset()
    first = min(actions, key=book.rank)
    others = actions - {first}
    rows = {(row.first, row.second): row.outcome for row in book.conflicts}
    if not others:
        return rows[(first, None)]
    result = frozenset(LISTS)
    for other in others:
        result &= rows.get((first, other)) or rows[(other, first)]
    return result


def _lists(entries: Sequence[RuleEntry], book: Rulebook) -> dict[str, tuple[str, ...]]:
    """Exact app ids per list, pruned by every stronger rule that covers them."""
    exact: dict[str, set[str]] = {}
    for e in entries:
        if e.target.kind == "app" and in_effect(e, None) and e.target.value:
            exact.setdefault(e.target.value, set()).add(e.action)
    lists: dict[str, list[str]] = {name: [] for name in LISTS}
    for app_id, actions in exact.items():
        covering = {e.action for e in entries if in_effect(e, None) and covers(e.target, app_id)}
        for name in outcome(covering, book) & {_LIST_OF[a] for a in actions}:
            lists[name].append(app_id)
    return {name: tuple(sorted(ids)) for name, ids in lists.items()}


def _next_change(
    device: DeviceInput, rules: Iterable[RuleInput], entries: Iterable[RuleEntry], now: datetime
) -> datetime | None:
    """When the clock alone next changes this device's policy (for the server's timer)."""
    times = [e.expires_at for e in entries if e.expires_at is not None]
    times += [e.waived_until for e in entries if e.waived_until is not None]
    times += [
        r.effective_at
        for r in rules
        if r.effective_at is not None and r.effective_at > now and in_scope(device, r)
    ]
    return min((t for t in times if t > now), default=None)


def _unique_ids(rules: Sequence[RuleInput]) -> None:
    ids = [r.id for r in rules]
    if len(ids) != len(set(ids)):
        raise ValueError("two rules share one determination id")


def compile_policy(
    device: DeviceInput,
    rules: Sequence[RuleInput],
    waivers: Sequence[WaiverInput],
    *,
    now: datetime,
) -> DevicePolicy:
    """What ``device`` must enforce at ``now``, following the tables of ``policy.md``."""
    _check_now(now)
    _unique_ids(rules)
    book = rulebook()
    row = book.platform_row(device.platform, device.ownership, device.supervised)
    waived = _waived_until(device, waivers, now)
    applying = sorted((r for r in rules if rule_applies(device, r, now)), key=lambda r: r.id)
    entries = tuple(_entry(r, row.modes[r.action], waived.get(r.id), book) for r in applying)
    active = [e for e in entries if in_effect(e, None)]
    by_id = {r.id: r for r in applying}
    lists = _lists(entries, book)
    network = {d for e in active if book.blocks_network(e.action) for d in e.target.domains}
    messages = tuple(
        Message(e.id, by_id[e.id].title, by_id[e.id].message or by_id[e.id].title)
        for e in active
        if by_id[e.id].title or by_id[e.id].message
    )
    return DevicePolicy(
        platform=device.platform,
        management=row.management,
        allow_list=any(e.action == "allow" for e in active),
        banned=lists["banned"],
        blocked=lists["blocked"],
        allowed=lists["allowed"],
        monitored=lists["monitored"],
        network_block=tuple(sorted(network)),
        messages=messages,
        rules=entries,
        next_change_at=_next_change(device, rules, entries, now),
    )


def policy_inputs_key(
    device: DeviceInput,
    rules: Sequence[RuleInput],
    waivers: Sequence[WaiverInput],
    *,
    now: datetime,
) -> tuple[object, ...]:
    """What of a device decides its policy, for one set of rules: equal keys, one document.

    Everything device-specific (id, user, groups) is reduced to the rules that apply, the
    waivers that exempt it and the rules still to come into effect for it.
    """
    _check_now(now)
    row = rulebook().platform_row(device.platform, device.ownership, device.supervised)
    waived = _waived_until(device, waivers, now)
    applying = sorted(r.id for r in rules if rule_applies(device, r, now))
    upcoming = sorted(
        r.id
        for r in rules
        if r.effective_at is not None and r.effective_at > now and in_scope(device, r)
    )
    exemptions = tuple((i, waived[i]) for i in applying if i in waived)
    return (device.platform, row.management, tuple(applying), exemptions, tuple(upcoming))


def compile_fleet(
    devices: Iterable[DeviceInput],
    rules: Sequence[RuleInput],
    waivers: Sequence[WaiverInput],
    *,
    now: datetime,
) -> dict[str, DevicePolicy]:
    """Every device's policy, compiling once per distinct :func:`policy_inputs_key`."""
    compiled: dict[tuple[object, ...], DevicePolicy] = {}
    result: dict[str, DevicePolicy] = {}
    for device in devices:
        key = policy_inputs_key(device, rules, waivers, now=now)
        if key not in compiled:
            compiled[key] = compile_policy(device, rules, waivers, now=now)
        result[device.device_id] = compiled[key]
    return result
