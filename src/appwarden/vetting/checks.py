"""Detections behind the rules in ``data/rules.toml``: facts in, evidence out.

Each check returns the exact evidence that triggers its rule (an empty list means the
rule does not apply). Checks read only :class:`Facts`; they never touch the file.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from appwarden.vetting.model import (
    AndroidDetails,
    AppInfo,
    Component,
    IosDetails,
    Network,
    Permission,
    Platform,
    Signer,
    TrackerMatch,
)


@dataclass(frozen=True)
class Facts:
    platform: Platform
    app: AppInfo
    signers: list[Signer]
    permissions: list[Permission]
    trackers: list[TrackerMatch]
    network: Network
    android: AndroidDetails | None = None
    ios: IosDetails | None = None


Check = Callable[[Facts], list[str]]
CHECKS: dict[str, Check] = {}

_MAIN = "android.intent.action.MAIN"
_LAUNCHER = "android.intent.category.LAUNCHER"
_PRIVILEGED_SERVICES = {
    "android.permission.BIND_ACCESSIBILITY_SERVICE": "accessibility service",
    "android.permission.BIND_DEVICE_ADMIN": "device admin receiver",
    "android.permission.BIND_NOTIFICATION_LISTENER_SERVICE": "notification listener",
    "android.permission.BIND_VPN_SERVICE": "VPN service",
}
_WEAK_HASHES = ("md5", "sha1", "md2")
_ADVERTISING = {"advertising", "advertisement", "ads"}
_ANALYTICS = {"analytics", "attribution", "profiling", "identification"}
_LOCATION = {"location"}
_SENSITIVE_IOS_GROUPS = {
    "location",
    "contacts",
    "microphone",
    "camera",
    "storage_media",
    "calendar",
    "body_sensors",
    "nearby_devices",
    "speech",
}
_SENSITIVE_BACKGROUND_MODES = {"location", "voip"}
_SENSITIVE_ENTITLEMENTS = (
    "com.apple.developer.networking.vpn.api",
    "com.apple.developer.networking.networkextension",
    "com.apple.developer.contacts.notes",
    "com.apple.developer.healthkit",
    "com.apple.developer.networking.wifi-info",
)


def check(rule_id: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        CHECKS[rule_id] = function
        return function

    return register


def _permissions_in(facts: Facts, *groups: str) -> list[str]:
    return [p.name for p in facts.permissions if p.group in groups]


# ---------------------------------------------------------------- signing


@check("AW-SIGN-001")
def _unsigned(facts: Facts) -> list[str]:
    return [] if facts.signers else ["no v1, v2, v3 or v3.1 signer certificate"]


@check("AW-SIGN-002")
def _debug_certificate(facts: Facts) -> list[str]:
    return [f"{s.subject} (sha256 {s.sha256})" for s in facts.signers if s.debug]


@check("AW-SIGN-003")
def _v1_only(facts: Facts) -> list[str]:
    schemes = {scheme for s in facts.signers for scheme in s.schemes}
    min_sdk = facts.app.min_sdk or 1
    if schemes == {"v1"} and min_sdk < 24:
        return [f"signature schemes: v1 only; minSdkVersion {min_sdk}"]
    return []


@check("AW-SIGN-004")
def _weak_signature(facts: Facts) -> list[str]:
    return [
        f"{s.subject}: {s.signature_algorithm}"
        for s in facts.signers
        if s.signature_algorithm.split("-")[0] in _WEAK_HASHES
    ]


@check("AW-SIGN-005")
def _ios_unsigned(facts: Facts) -> list[str]:
    return [] if facts.signers else ["no embedded.mobileprovision developer certificate"]


@check("AW-SIGN-006")
def _ios_distribution(facts: Facts) -> list[str]:
    profile = (facts.ios.provisioning if facts.ios else None) or {}
    if profile.get("ProvisionsAllDevices"):
        return [f"profile {profile.get('Name', '?')}: ProvisionsAllDevices (enterprise)"]
    devices = profile.get("ProvisionedDevices")
    if isinstance(devices, int) and devices > 0:
        return [f"profile {profile.get('Name', '?')}: {devices} provisioned devices (ad hoc)"]
    return []


# ---------------------------------------------------------------- configuration


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


# ---------------------------------------------------------------- permissions


@check("AW-PERM-001")
def _sms(facts: Facts) -> list[str]:
    return _permissions_in(facts, "sms")


@check("AW-PERM-002")
def _call_log(facts: Facts) -> list[str]:
    return _permissions_in(facts, "call_log")


@check("AW-PERM-003")
def _location(facts: Facts) -> list[str]:
    wanted = {
        "android.permission.ACCESS_FINE_LOCATION",
        "android.permission.ACCESS_BACKGROUND_LOCATION",
        "android.permission.ACCESS_COARSE_LOCATION",
    }
    return [p.name for p in facts.permissions if p.name in wanted]


@check("AW-PERM-004")
def _microphone_camera(facts: Facts) -> list[str]:
    wanted = {"android.permission.RECORD_AUDIO", "android.permission.CAMERA"}
    return [p.name for p in facts.permissions if p.name in wanted]


@check("AW-PERM-005")
def _contacts_accounts_calendar(facts: Facts) -> list[str]:
    return _permissions_in(facts, "contacts", "accounts", "calendar")


@check("AW-PERM-006")
def _phone_identity(facts: Facts) -> list[str]:
    wanted = {"android.permission.READ_PHONE_STATE", "android.permission.READ_PHONE_NUMBERS"}
    return [p.name for p in facts.permissions if p.name in wanted]


@check("AW-PERM-007")
def _install_packages(facts: Facts) -> list[str]:
    return _permissions_in(facts, "package_install")


@check("AW-PERM-008")
def _query_packages(facts: Facts) -> list[str]:
    return _permissions_in(facts, "package_query")


@check("AW-PERM-009")
def _overlay_settings(facts: Facts) -> list[str]:
    return _permissions_in(facts, "overlay", "system_settings")


@check("AW-PERM-010")
def _system_permissions(facts: Facts) -> list[str]:
    return [
        f"{p.name} ({p.protection})"
        for p in facts.permissions
        if p.protection in ("signature", "privileged") and p.name.startswith("android.")
    ]


@check("AW-PERM-011")
def _powerful_services(facts: Facts) -> list[str]:
    if not facts.android:
        return []
    return [
        f"{_PRIVILEGED_SERVICES[c.permission]} {c.name}"
        for c in facts.android.components
        if c.permission in _PRIVILEGED_SERVICES
    ]


@check("AW-PERM-012")
def _body_sensors(facts: Facts) -> list[str]:
    return _permissions_in(facts, "body_sensors")


@check("AW-PERM-013")
def _ios_sensitive(facts: Facts) -> list[str]:
    if not facts.ios:
        return []
    return [u.key for u in facts.ios.usage_descriptions if u.group in _SENSITIVE_IOS_GROUPS]


@check("AW-PERM-014")
def _ios_tracking(facts: Facts) -> list[str]:
    if not facts.ios:
        return []
    keys = {u.key for u in facts.ios.usage_descriptions}
    return ["NSUserTrackingUsageDescription"] if "NSUserTrackingUsageDescription" in keys else []


@check("AW-PERM-015")
def _ios_background(facts: Facts) -> list[str]:
    if not facts.ios:
        return []
    modes = [
        f"UIBackgroundModes: {m}"
        for m in facts.ios.background_modes
        if m in _SENSITIVE_BACKGROUND_MODES
    ]
    entitlements = [
        f"entitlement {e}" for e in _SENSITIVE_ENTITLEMENTS if e in facts.ios.entitlements
    ]
    return modes + entitlements


# ---------------------------------------------------------------- trackers


def _trackers_in(facts: Facts, categories: set[str], exclude: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    return [
        f"{t.name} ({t.matched_by})"
        for t in facts.trackers
        if set(t.categories) & categories and not set(t.categories) & exclude
    ]


@check("AW-TRK-001")
def _advertising(facts: Facts) -> list[str]:
    return _trackers_in(facts, _ADVERTISING)


@check("AW-TRK-002")
def _analytics(facts: Facts) -> list[str]:
    return _trackers_in(facts, _ANALYTICS, exclude=_ADVERTISING | _LOCATION)


@check("AW-TRK-003")
def _location_trackers(facts: Facts) -> list[str]:
    return _trackers_in(facts, _LOCATION, exclude=_ADVERTISING)


@check("AW-TRK-004")
def _other_trackers(facts: Facts) -> list[str]:
    counted = _ADVERTISING | _ANALYTICS | _LOCATION
    return [f"{t.name} ({t.matched_by})" for t in facts.trackers if not set(t.categories) & counted]


@check("AW-TRK-005")
def _ios_privacy_tracking(facts: Facts) -> list[str]:
    manifest = (facts.ios.privacy_manifest if facts.ios else None) or {}
    evidence = ["NSPrivacyTracking = true"] if manifest.get("NSPrivacyTracking") is True else []
    domains = manifest.get("NSPrivacyTrackingDomains")
    if isinstance(domains, list):
        evidence += [f"tracking domain {d}" for d in domains if isinstance(d, str)]
    return evidence


# ---------------------------------------------------------------- network


def _public_ip(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_global


@check("AW-NET-001")
def _http_endpoints(facts: Facts) -> list[str]:
    hosts: set[str] = set()
    for url in facts.network.urls:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme in ("http", "ws") and host and not ipaddress_is_local(host):
            hosts.add(host)
    return sorted(hosts)


def ipaddress_is_local(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return not address.is_global


@check("AW-NET-002")
def _literal_ips(facts: Facts) -> list[str]:
    return [d for d in facts.network.domains if _public_ip(d)]


# ---------------------------------------------------------------- code


@check("AW-CODE-001")
def _nested_code(facts: Facts) -> list[str]:
    if not facts.android:
        return []
    return [f"{n.path} ({n.kind}, {n.size} bytes)" for n in facts.android.nested_code]


@check("AW-CODE-002")
def _native(facts: Facts) -> list[str]:
    return list(facts.android.native_libraries) if facts.android else []
