"""Checks on the app's declared configuration (manifest flags, components, ATS)."""

from __future__ import annotations

from appwarden.vetting.checks.base import Facts, check
from appwarden.vetting.model import Component

_MAIN = "android.intent.action.MAIN"
_LAUNCHER = "android.intent.category.LAUNCHER"


@check("AW-CFG-001")
def _debuggable(facts: Facts) -> list[str]:
    if facts.android and facts.android.flags.debuggable:
        return ['android:debuggable="true"']
    if facts.ios and facts.ios.entitlements.get("get-task-allow") is True:
        return ["entitlement get-task-allow = true"]
    return []


@check("AW-CFG-002")
def _allow_backup(facts: Facts) -> list[str]:
    if facts.android and facts.android.flags.allow_backup:
        return ["android:allowBackup is true (explicitly or by default)"]
    return []


@check("AW-CFG-003")
def _cleartext(facts: Facts) -> list[str]:
    if not facts.android or not facts.android.flags.uses_cleartext_traffic:
        return []
    flags = facts.android.flags
    if flags.cleartext_declared:
        return ['android:usesCleartextTraffic="true"']
    if flags.network_security_config:
        return []  # the configuration decides; it is listed in the report for review
    return [f"usesCleartextTraffic not set; targetSdkVersion {facts.app.target_sdk} allows it"]


@check("AW-CFG-004")
def _test_only(facts: Facts) -> list[str]:
    return ['android:testOnly="true"'] if facts.android and facts.android.flags.test_only else []


@check("AW-CFG-005")
def _exported_unguarded(facts: Facts) -> list[str]:
    if not facts.android:
        return []
    return [
        f"{c.kind} {c.name}"
        for c in facts.android.components
        if c.exported and not c.permission and not _is_launcher(c)
    ]


def _is_launcher(component: Component) -> bool:
    """The activity the home screen starts: it must be exported, so it is not counted."""
    return (
        component.kind in ("activity", "activity-alias")
        and _MAIN in component.intent_actions
        and _LAUNCHER in component.intent_categories
    )


@check("AW-CFG-006")
def _old_target(facts: Facts) -> list[str]:
    target = facts.app.target_sdk
    if facts.platform == "android" and target is not None and target < 30:
        return [f"targetSdkVersion {target}"]
    return []


@check("AW-CFG-007")
def _ats_disabled(facts: Facts) -> list[str]:
    if facts.ios and facts.ios.ats.allows_arbitrary_loads:
        return ["NSAppTransportSecurity.NSAllowsArbitraryLoads = true"]
    return []


@check("AW-CFG-008")
def _ats_exceptions(facts: Facts) -> list[str]:
    return list(facts.ios.ats.insecure_exception_domains) if facts.ios else []
