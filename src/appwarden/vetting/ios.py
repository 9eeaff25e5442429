"""iOS: what an IPA's Info.plist, provisioning profile and code signature say about it.

An IPA is a ZIP holding ``Payload/<Name>.app/``. Info.plist gives the identity, privacy
usage strings, App Transport Security exceptions, URL schemes and background modes;
``embedded.mobileprovision`` (CMS SignedData around an XML plist) gives the team, the
developer certificates and the entitlements granted; the main executable's code signature
carries the entitlements actually signed. Every archive read goes through :class:`SafeZip`,
and every plist is parsed defensively: a damaged part becomes a warning, never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from appwarden.vetting.archive import SafeZip
from appwarden.vetting.errors import NotAnIosApp, VettingError
from appwarden.vetting.ios_signing import (
    entitlements_of,
    profile_signers,
    profile_summary,
    read_profile,
)
from appwarden.vetting.limits import ArchiveLimits
from appwarden.vetting.model import AppInfo, AtsSettings, IosDetails, Signer, UsageDescription
from appwarden.vetting.plists import load_plist, strings_of, text_of, to_json_dict, truthy

_APP_INFO = re.compile(r"^Payload/([^/]+\.app)/Info\.plist$")
_FRAMEWORK = re.compile(r"^Frameworks/([^/]+)\.framework(?:/|$)")
_DYLIB = re.compile(r"^Frameworks/([^/]+\.dylib)$")
_MAX_EXECUTABLE = 512 * 1024 * 1024
_WEAK_TLS = frozenset({"TLSv1.0", "TLSv1.1", "SSLv3", "SSLv2"})

# Usage-description key (or key prefix) -> privacy group, first match wins.
_USAGE_GROUPS: tuple[tuple[str, str], ...] = (
    ("NSLocation", "location"),
    ("NSContacts", "contacts"),
    ("NSCalendars", "calendar"),
    ("NSReminders", "calendar"),
    ("NSCamera", "camera"),
    ("NSMicrophone", "microphone"),
    ("NSSpeechRecognition", "microphone"),
    ("NSPhotoLibrary", "storage_media"),
    ("NSAppleMusic", "storage_media"),
    ("NSMotion", "body_sensors"),
    ("NSHealth", "body_sensors"),
    ("NSBluetooth", "nearby_devices"),
    ("NSLocalNetwork", "nearby_devices"),
    ("NSNearbyInteraction", "nearby_devices"),
    ("NFCReader", "nearby_devices"),
    ("NSUserTracking", "identifiers"),
    ("NSFaceID", "biometrics"),
)


@dataclass
class IosFacts:
    app: AppInfo
    signers: list[Signer]
    details: IosDetails
    binary: bytes
    warnings: list[str]


def _find_bundle(archive: SafeZip) -> str:
    """``Payload/<Name>.app/`` of the one app bundle in the IPA."""
    bundles = sorted(m.group(1) for name in archive.names() if (m := _APP_INFO.match(name)))
    if not bundles:
        raise NotAnIosApp("not an iOS app: the IPA has no Payload/*.app/Info.plist")
    if len(bundles) > 1:
        raise NotAnIosApp(
            f"not an iOS app: the IPA holds {len(bundles)} app bundles ({', '.join(bundles)})"
        )
    return f"Payload/{bundles[0]}/"


def _read_info(archive: SafeZip, bundle: str) -> dict[Any, Any]:
    try:
        info = load_plist(archive.read(bundle + "Info.plist"))
    except ValueError as err:
        raise NotAnIosApp(
            f"not an iOS app: {bundle}Info.plist could not be parsed: {err}"
        ) from None
    if not isinstance(info, dict):
        raise NotAnIosApp(f"not an iOS app: {bundle}Info.plist is not a dictionary")
    if not text_of(info.get("CFBundleIdentifier")):
        raise NotAnIosApp(f"not an iOS app: {bundle}Info.plist has no CFBundleIdentifier")
    return info


def _usage_group(key: str) -> str | None:
    for prefix, group in _USAGE_GROUPS:
        if key.startswith(prefix):
            return group
    return None


def _is_usage_key(key: Any) -> bool:
    if not isinstance(key, str) or not key.endswith("UsageDescription"):
        return False
    return key.startswith("NS") or key == "NFCReaderUsageDescription"


def _usage_descriptions(info: dict[Any, Any]) -> list[UsageDescription]:
    return [
        UsageDescription(key=key, text=text_of(info[key]) or "", group=_usage_group(key))
        for key in sorted(k for k in info if _is_usage_key(k))
    ]


def _weak_tls(value: Any) -> bool:
    return isinstance(value, str) and value.strip() in _WEAK_TLS


def _insecure_domain(settings: Any) -> bool:
    if not isinstance(settings, dict):
        return False
    return (
        truthy(settings.get("NSExceptionAllowsInsecureHTTPLoads"))
        or truthy(settings.get("NSTemporaryExceptionAllowsInsecureHTTPLoads"))
        or _weak_tls(settings.get("NSExceptionMinimumTLSVersion"))
        or _weak_tls(settings.get("NSTemporaryExceptionMinimumTLSVersion"))
    )


def _ats(info: dict[Any, Any]) -> AtsSettings:
    ats = info.get("NSAppTransportSecurity")
    if not isinstance(ats, dict):
        ats = {}
    domains = ats.get("NSExceptionDomains")
    if not isinstance(domains, dict):
        domains = {}
    return AtsSettings(
        allows_arbitrary_loads=truthy(ats.get("NSAllowsArbitraryLoads")),
        allows_arbitrary_loads_in_web_content=truthy(ats.get("NSAllowsArbitraryLoadsInWebContent")),
        insecure_exception_domains=sorted(
            domain
            for domain, settings in domains.items()
            if isinstance(domain, str) and _insecure_domain(settings)
        ),
    )


def _url_schemes(info: dict[Any, Any]) -> list[str]:
    types = info.get("CFBundleURLTypes")
    schemes: set[str] = set()
    for url_type in types if isinstance(types, list) else []:
        if isinstance(url_type, dict):
            schemes.update(strings_of(url_type.get("CFBundleURLSchemes")))
    return sorted(schemes)


def _read_executable(
    archive: SafeZip, bundle: str, info: dict[Any, Any], warnings: list[str]
) -> bytes:
    executable = info.get("CFBundleExecutable")
    if not isinstance(executable, str) or not executable:
        warnings.append("Info.plist names no main executable (CFBundleExecutable)")
        return b""
    name = bundle + executable
    entry = archive.entries.get(name)
    if entry is None:
        warnings.append(f"the main executable {name} is not in the IPA")
        return b""
    if entry.size > _MAX_EXECUTABLE:
        warnings.append(
            f"the main executable {name} was not read: {entry.size} bytes (limit {_MAX_EXECUTABLE})"
        )
        return b""
    try:
        return archive.read(name)
    except VettingError as err:
        warnings.append(f"the main executable could not be read: {err}")
        return b""


def _privacy_manifest(
    archive: SafeZip, bundle: str, warnings: list[str]
) -> dict[str, object] | None:
    name = bundle + "PrivacyInfo.xcprivacy"
    if name not in archive:
        return None
    try:
        return to_json_dict(load_plist(archive.read(name)))
    except (ValueError, VettingError) as err:
        warnings.append(f"the privacy manifest {name} could not be read: {err}")
        return None


def _frameworks(archive: SafeZip, bundle: str) -> list[str]:
    names: set[str] = set()
    for name in archive.names():
        if not name.startswith(bundle):
            continue
        inner = name[len(bundle) :]
        match = _FRAMEWORK.match(inner) or _DYLIB.match(inner)
        if match and match.group(1):
            names.add(match.group(1))
    return sorted(names)


def _team_id(profile: dict[str, object] | None, entitlements: dict[str, object]) -> str | None:
    teams = profile.get("TeamIdentifier") if profile else None
    if isinstance(teams, list) and teams and isinstance(teams[0], str) and teams[0]:
        return teams[0]
    team = entitlements.get("com.apple.developer.team-identifier")
    if isinstance(team, str) and team:
        return team
    app_id = entitlements.get("application-identifier")
    if isinstance(app_id, str) and "." in app_id:
        return app_id.split(".", 1)[0] or None
    return None


def _app_info(info: dict[Any, Any], team_id: str | None) -> AppInfo:
    return AppInfo(
        platform="ios",
        id=str(text_of(info.get("CFBundleIdentifier"))),
        version_code=text_of(info.get("CFBundleVersion")),
        version_name=text_of(info.get("CFBundleShortVersionString")),
        label=text_of(info.get("CFBundleDisplayName")) or text_of(info.get("CFBundleName")),
        min_os=text_of(info.get("MinimumOSVersion")),
        team_id=team_id,
    )


def read_ipa(data: bytes, *, limits: ArchiveLimits) -> IosFacts:
    """Everything vetting needs from one IPA. Raises a :class:`VettingError` subclass."""
    archive = SafeZip(data, limits=limits, what="IPA")
    bundle = _find_bundle(archive)
    info = _read_info(archive, bundle)
    warnings: list[str] = []
    profile = read_profile(archive, bundle, warnings)
    summary = profile_summary(profile) if profile is not None else None
    binary = _read_executable(archive, bundle, info, warnings)
    entitlements = entitlements_of(binary, profile, warnings)
    details = IosDetails(
        usage_descriptions=_usage_descriptions(info),
        ats=_ats(info),
        url_schemes=_url_schemes(info),
        background_modes=sorted(set(strings_of(info.get("UIBackgroundModes")))),
        entitlements=entitlements,
        provisioning=summary,
        privacy_manifest=_privacy_manifest(archive, bundle, warnings),
        frameworks=_frameworks(archive, bundle),
    )
    return IosFacts(
        app=_app_info(info, _team_id(summary, entitlements)),
        signers=profile_signers(profile, warnings) if profile is not None else [],
        details=details,
        binary=binary,
        warnings=warnings,
    )
