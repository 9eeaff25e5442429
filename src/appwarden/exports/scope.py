"""The determinations in force for one device group, resolved into per-platform lists.

Pure: the policy compiler decides, for a device standing for the whole group (corporate,
supervised: the management where every action can be enforced), which app ids are banned,
blocked or allowed, with the precedence of ``policy.md``. What an id list cannot carry is
named in a warning, never dropped in silence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from appwarden.exports.model import AppLabel, PlatformLists, ScopeLists
from appwarden.policy import DeviceInput, DevicePolicy, RuleInput, WaiverInput, compile_policy
from appwarden.policy.model import PLATFORMS, iso
from appwarden.policy.precedence import Rulebook, rulebook

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$")
_ENFORCED = ("ban", "block", "allow")


def _publisher_apps(
    policy: DevicePolicy, platform: str, platforms_of: Mapping[str, frozenset[str]]
) -> dict[str, set[str]]:
    """Per action, the catalog apps of this platform that publisher rules cover."""
    found: dict[str, set[str]] = {action: set() for action in _ENFORCED}
    for entry in policy.rules:
        if entry.target.kind != "publisher" or entry.waived_until is not None:
            continue
        if entry.action in found:
            found[entry.action].update(
                app for app in entry.target.app_ids if platform in platforms_of.get(app, {platform})
            )
    return found


def _lists(
    policy: DevicePolicy, platform: str, platforms_of: Mapping[str, frozenset[str]]
) -> PlatformLists:
    extra = _publisher_apps(policy, platform, platforms_of)
    banned = set(policy.banned) | extra["ban"]
    blocked = (set(policy.blocked) | extra["block"]) - banned
    allowed = (set(policy.allowed) | extra["allow"]) - banned - blocked
    return PlatformLists(
        banned=tuple(sorted(banned)),
        blocked=tuple(sorted(blocked)),
        allowed=tuple(sorted(allowed)),
        allow_list=policy.allow_list,
    )


def _rule_warnings(policies: Sequence[DevicePolicy], scope: str) -> dict[int, str]:
    """One warning per rule an app id list cannot express exactly."""
    warnings: dict[int, str] = {}
    for policy in policies:
        for entry in policy.rules:
            if entry.action not in _ENFORCED or entry.id in warnings:
                continue
            kind, value = entry.target.kind, entry.target.value
            if kind in ("pattern", "signer"):
                what = "app-id pattern" if kind == "pattern" else "signer certificate"
                warnings[entry.id] = (
                    f"determination {entry.id} ({entry.action}): the {what} {value!r} cannot "
                    f"be expressed as a list of app ids; only the AppWarden agent enforces it "
                    f"on the devices of {scope}"
                )
            elif kind == "publisher":
                warnings[entry.id] = (
                    f"determination {entry.id} ({entry.action}): the publisher is exported as "
                    f"its {len(entry.target.app_ids)} catalog app(s); apps of the publisher "
                    f"not in the catalog are not covered"
                )
    return warnings


def _waiver_warnings(
    rules: Sequence[RuleInput], waivers: Sequence[WaiverInput], scope: str, now: datetime
) -> list[str]:
    in_scope = {r.id for r in rules if "*" in r.scope or scope in r.scope}
    return [
        f"determination {w.determination_id} has waiver {w.id} for named devices or users "
        f"until {iso(w.expires_at)}; an MDM export applies to every device of {scope}, so "
        f"exclude those devices in the MDM"
        for w in sorted(waivers, key=lambda w: w.id)
        if w.determination_id in in_scope and now < w.expires_at
    ]


def blockable(domains: Sequence[str], book: Rulebook, never: set[str]) -> set[str]:
    """Valid domain names that are not shared infrastructure and not in ``never``."""
    kept = set()
    for domain in domains:
        name = domain.lower().rstrip(".")
        if _DOMAIN.match(name) and not book.is_shared(name) and name not in never:
            kept.add(name)
    return kept


def _domains(
    policies: Sequence[DevicePolicy],
    lists: Sequence[PlatformLists],
    endpoints: Mapping[str, Sequence[str]],
    book: Rulebook,
) -> tuple[str, ...]:
    """Publishers' registered domains (bans) and the endpoints vetting found in banned
    apps; never shared infrastructure, never an endpoint an allowed app uses."""
    never = {d.lower() for one in lists for app in one.allowed for d in endpoints.get(app, ())}
    found = [d for policy in policies for d in policy.network_block]
    found += [d for one in lists for app in one.banned for d in endpoints.get(app, ())]
    return tuple(sorted(blockable(found, book, never)))


def resolve_scope(
    scope: str,
    rules: Sequence[RuleInput],
    waivers: Sequence[WaiverInput],
    *,
    now: datetime,
    platforms_of: Mapping[str, frozenset[str]] | None = None,
    endpoints: Mapping[str, Sequence[str]] | None = None,
    labels: Mapping[str, AppLabel] | None = None,
) -> ScopeLists:
    """What the devices of ``scope`` must enforce at ``now``, per platform.

    ``platforms_of`` says on which platforms the catalog knows an app id (publisher
    targets expand to their catalog apps of each platform); ``endpoints`` gives, per app
    id, the host names vetting found in it (third-party trackers already left out).
    """
    platforms_of = platforms_of or {}
    endpoints = endpoints or {}
    policies = [
        compile_policy(
            DeviceInput(
                device_id=f"scope:{scope}",
                platform=platform,
                ownership="corporate",
                supervised=True,
                groups=[scope],
            ),
            rules,
            (),
            now=now,
        )
        for platform in PLATFORMS
    ]
    lists = [_lists(p, name, platforms_of) for p, name in zip(policies, PLATFORMS, strict=True)]
    warnings = list(_rule_warnings(policies, scope).values())
    warnings += _waiver_warnings(rules, waivers, scope, now)
    by_platform = dict(zip(PLATFORMS, lists, strict=True))
    return ScopeLists(
        scope=scope,
        generated_at=now,
        android=by_platform["android"],
        ios=by_platform["ios"],
        domains=_domains(policies, lists, endpoints, rulebook()),
        labels=dict(labels or {}),
        warnings=tuple(warnings),
    )
