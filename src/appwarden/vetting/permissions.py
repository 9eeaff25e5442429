"""Android permissions: protection class from AOSP data, and a privacy group.

The protection class comes from the AOSP permission lists that androguard ships (one JSON
file per API level); the newest level that defines a permission decides. The privacy
groups are this project's: they say what kind of personal data or device power a
permission reaches, in the words of an analyst.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from appwarden.vetting.model import Protection

PRIVACY_GROUPS: dict[str, tuple[str, ...]] = {
    "location": (
        "ACCESS_FINE_LOCATION",
        "ACCESS_COARSE_LOCATION",
        "ACCESS_BACKGROUND_LOCATION",
        "ACCESS_MEDIA_LOCATION",
        "ACCESS_LOCATION_EXTRA_COMMANDS",
        "ACCESS_MOCK_LOCATION",
    ),
    "contacts": ("READ_CONTACTS", "WRITE_CONTACTS", "GET_ACCOUNTS"),
    "accounts": ("ACCOUNT_MANAGER", "MANAGE_ACCOUNTS", "USE_CREDENTIALS", "AUTHENTICATE_ACCOUNTS"),
    "sms": ("READ_SMS", "SEND_SMS", "RECEIVE_SMS", "RECEIVE_MMS", "RECEIVE_WAP_PUSH", "WRITE_SMS"),
    "call_log": ("READ_CALL_LOG", "WRITE_CALL_LOG", "PROCESS_OUTGOING_CALLS"),
    "phone": (
        "READ_PHONE_STATE",
        "READ_PHONE_NUMBERS",
        "CALL_PHONE",
        "ANSWER_PHONE_CALLS",
        "ADD_VOICEMAIL",
        "USE_SIP",
        "ACCEPT_HANDOVER",
        "READ_PRIVILEGED_PHONE_STATE",
        "MODIFY_PHONE_STATE",
        "CALL_PRIVILEGED",
    ),
    "camera": ("CAMERA",),
    "microphone": ("RECORD_AUDIO", "CAPTURE_AUDIO_OUTPUT", "MODIFY_AUDIO_SETTINGS"),
    "storage_media": (
        "READ_EXTERNAL_STORAGE",
        "WRITE_EXTERNAL_STORAGE",
        "MANAGE_EXTERNAL_STORAGE",
        "READ_MEDIA_IMAGES",
        "READ_MEDIA_VIDEO",
        "READ_MEDIA_AUDIO",
        "READ_MEDIA_VISUAL_USER_SELECTED",
        "MANAGE_MEDIA",
        "MANAGE_DOCUMENTS",
    ),
    "calendar": ("READ_CALENDAR", "WRITE_CALENDAR"),
    "body_sensors": (
        "BODY_SENSORS",
        "BODY_SENSORS_BACKGROUND",
        "ACTIVITY_RECOGNITION",
        "HIGH_SAMPLING_RATE_SENSORS",
    ),
    "nearby_devices": (
        "BLUETOOTH_SCAN",
        "BLUETOOTH_CONNECT",
        "BLUETOOTH_ADVERTISE",
        "NEARBY_WIFI_DEVICES",
        "UWB_RANGING",
        "BLUETOOTH",
        "BLUETOOTH_ADMIN",
        "BLUETOOTH_PRIVILEGED",
        "NFC",
        "ACCESS_WIFI_STATE",
        "CHANGE_WIFI_STATE",
    ),
    "accessibility": ("BIND_ACCESSIBILITY_SERVICE",),
    "device_admin": (
        "BIND_DEVICE_ADMIN",
        "MANAGE_DEVICE_ADMINS",
        "MANAGE_DEVICE_POLICY_APPS_CONTROL",
    ),
    "package_install": (
        "REQUEST_INSTALL_PACKAGES",
        "INSTALL_PACKAGES",
        "DELETE_PACKAGES",
        "REQUEST_DELETE_PACKAGES",
        "UPDATE_PACKAGES_WITHOUT_USER_ACTION",
    ),
    "package_query": ("QUERY_ALL_PACKAGES", "GET_TASKS", "REAL_GET_TASKS", "PACKAGE_USAGE_STATS"),
    "overlay": ("SYSTEM_ALERT_WINDOW", "SYSTEM_OVERLAY_WINDOW"),
    "notifications": (
        "BIND_NOTIFICATION_LISTENER_SERVICE",
        "POST_NOTIFICATIONS",
        "ACCESS_NOTIFICATION_POLICY",
    ),
    "screen_capture": ("CAPTURE_VIDEO_OUTPUT", "READ_FRAME_BUFFER", "CAPTURE_SECURE_VIDEO_OUTPUT"),
    "vpn_network": ("BIND_VPN_SERVICE", "CHANGE_NETWORK_STATE", "INTERNET", "ACCESS_NETWORK_STATE"),
    "system_settings": ("WRITE_SETTINGS", "WRITE_SECURE_SETTINGS", "CHANGE_CONFIGURATION"),
    "background": (
        "RECEIVE_BOOT_COMPLETED",
        "REQUEST_IGNORE_BATTERY_OPTIMIZATIONS",
        "FOREGROUND_SERVICE",
        "WAKE_LOCK",
    ),
    "biometrics": ("USE_BIOMETRIC", "USE_FINGERPRINT"),
}

_GROUP_OF: dict[str, str] = {
    f"android.permission.{name}": group for group, names in PRIVACY_GROUPS.items() for name in names
}
# Permissions outside the android.permission namespace that still reach personal data.
_GROUP_OF.update(
    {
        "com.android.voicemail.permission.ADD_VOICEMAIL": "phone",
        "com.android.launcher.permission.INSTALL_SHORTCUT": "system_settings",
        "com.google.android.gms.permission.AD_ID": "identifiers",
        "android.permission.READ_PRIVILEGED_PHONE_STATE": "phone",
        "com.android.browser.permission.READ_HISTORY_BOOKMARKS": "browsing_history",
    }
)

_PACKAGE = "androguard.core.api_specific_resources"
_LEVEL_FILE = re.compile(r"^permissions_(\d+)\.json$")


def build_protection_table() -> dict[str, str]:
    """Permission name → protectionLevel from androguard's AOSP lists, the newest level winning.

    Reading all levels takes about half a second, so the result is shipped as
    ``data/aosp_protection.json`` (``python -m appwarden.vetting.permissions`` rewrites it;
    a test checks that it matches the installed androguard).
    """
    folder = resources.files(_PACKAGE).joinpath("aosp_permissions")
    levels = sorted(
        (int(m.group(1)), entry)
        for entry in folder.iterdir()
        if (m := _LEVEL_FILE.match(entry.name))
    )
    merged: dict[str, str] = {}
    for _level, entry in levels:
        data = json.loads(entry.read_text(encoding="utf-8"))
        for name, info in data.get("permissions", {}).items():
            merged[name] = str(info.get("protectionLevel", ""))
    return dict(sorted(merged.items()))


@cache
def _aosp_protection_levels() -> dict[str, str]:
    text = (
        resources.files("appwarden.vetting")
        .joinpath("data/aosp_protection.json")
        .read_text(encoding="utf-8")
    )
    table: dict[str, str] = json.loads(text)
    return table


def protection_of(name: str, declared_by_app: frozenset[str] = frozenset()) -> Protection:
    """The protection class of a requested permission."""
    level = _aosp_protection_levels().get(name)
    if level is None:
        return "custom" if name in declared_by_app else "unknown"
    flags = set(level.split("|"))
    if "dangerous" in flags:
        return "dangerous"
    if "privileged" in flags:
        return "privileged"
    if "signature" in flags or "internal" in flags or "signatureOrSystem" in flags:
        return "signature"
    return "normal"


def group_of(name: str) -> str | None:
    """The privacy group of a permission, or None if it reaches no personal data."""
    return _GROUP_OF.get(name)


if __name__ == "__main__":
    target = resources.files("appwarden.vetting").joinpath("data/aosp_protection.json")
    with resources.as_file(target) as path:
        path.write_text(json.dumps(build_protection_table(), indent=0) + "\n", encoding="utf-8")
        print(f"wrote {path}")
