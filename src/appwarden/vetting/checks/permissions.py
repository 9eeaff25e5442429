"""Checks on the permissions, privileged services and iOS capabilities the app asks for."""

from __future__ import annotations

from appwarden.vetting.checks.base import Facts, _permissions_in, check

_PRIVILEGED_SERVICES = {
    "android.permission.BIND_ACCESSIBILITY_SERVICE": "accessibility service",
    "android.permission.BIND_DEVICE_ADMIN": "device admin receiver",
    "android.permission.BIND_NOTIFICATION_LISTENER_SERVICE": "notification listener",
    "android.permission.BIND_VPN_SERVICE": "VPN service",
}
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
