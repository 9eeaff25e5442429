"""An Apple configuration profile (``.mobileconfig``) with one restrictions payload
(``com.apple.applicationaccess``): ``blockedAppBundleIDs`` for the iOS apps banned or
blocked in the scope, or ``allowListedAppBundleIDs`` in allow-list mode.

Both keys need a supervised device (iOS 15 and later) and are forbidden under User
Enrollment; they hide an app and prevent its launch, they do not delete it.
"""

from __future__ import annotations

import plistlib

from appwarden.exports.model import Export, ScopeLists
from appwarden.exports.naming import one_line, slug, stable_uuid

PAYLOAD_TYPE = "com.apple.applicationaccess"
IDENTIFIER = "appwarden.exports"


def _payload(lists: ScopeLists) -> dict[str, object]:
    ios = lists.ios
    key, ids = (
        ("allowListedAppBundleIDs", list(ios.allowed))
        if ios.allow_list
        else ("blockedAppBundleIDs", list(ios.refused))
    )
    identifier = f"{IDENTIFIER}.{slug(lists.scope)}.restrictions"
    return {
        "PayloadType": PAYLOAD_TYPE,
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": stable_uuid(identifier, key, *ids),
        "PayloadDisplayName": "App restrictions",
        key: ids,
    }


def build_profile(lists: ScopeLists) -> Export:
    """The profile as an XML property list (sign it with :mod:`appwarden.exports.signing`)."""
    payload = _payload(lists)
    identifier = f"{IDENTIFIER}.{slug(lists.scope)}"
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": stable_uuid(identifier, str(payload["PayloadUUID"])),
        "PayloadDisplayName": f"AppWarden: apps restricted in {one_line(lists.scope)}",
        "PayloadDescription": (
            f"Apps restricted by the determinations in force for {one_line(lists.scope)}."
        ),
        "PayloadScope": "System",
        "PayloadContent": [payload],
    }
    warnings = list(lists.warnings)
    if lists.ios.allow_list:
        warnings.append(
            "allow-list mode: only the listed apps can be shown or launched; add the system "
            "apps the devices need (com.apple.webapp for web clips)"
        )
    if lists.ios.allow_list and lists.ios.refused:
        warnings.append(
            "allow-list mode: banned apps are left out of allowListedAppBundleIDs, which "
            "restricts them: " + ", ".join(lists.ios.refused)
        )
    return Export(
        kind="mobileconfig",
        scope=lists.scope,
        filename=f"appwarden-{slug(lists.scope)}.mobileconfig",
        media_type="application/x-apple-aspen-config",
        content=plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=True),
        warnings=tuple(warnings),
    )
