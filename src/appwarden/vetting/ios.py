"""iOS: what an IPA's Info.plist, provisioning profile and code signature say about it.

An IPA is a ZIP holding ``Payload/<Name>.app/``. Info.plist gives the identity, privacy
usage strings, App Transport Security exceptions, URL schemes and background modes;
``embedded.mobileprovision`` (CMS SignedData around an XML plist) gives the team, the
developer certificates and the entitlements granted; the main executable's code signature
carries the entitlements actually signed. Every archive read goes through :class:`SafeZip`,
and every plist is parsed defensively: a damaged part becomes a warning, never a crash.
"""

from __future__ import annotations

import math
import plistlib
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms

from appwarden.vetting.archive import SafeZip
from appwarden.vetting.errors import NotAnIosApp, VettingError
from appwarden.vetting.limits import ArchiveLimits
from appwarden.vetting.model import AppInfo, AtsSettings, IosDetails, Signer, UsageDescription
from appwarden.vetting.signers import signer_from_der

_APP_INFO = re.compile(r"^Payload/([^/]+\.app)/Info\.plist$")
_FRAMEWORK = re.compile(r"^Frameworks/([^/]+)\.framework(?:/|$)")
_DYLIB = re.compile(r"^Frameworks/([^/]+\.dylib)$")
_MAX_EXECUTABLE = 512 * 1024 * 1024
_ENTITLEMENTS_MAGIC = b"\xfa\xde\x71\x71"
_MAX_ENTITLEMENTS = 4 * 1024 * 1024
_MAX_BLOB_CANDIDATES = 64
_MAX_NODES = 100_000
_MAX_DEPTH = 64
_WEAK_TLS = frozenset({"TLSv1.0", "TLSv1.1", "SSLv3", "SSLv2"})
_TRUE_STRINGS = frozenset({"yes", "true", "1"})

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


class _TooComplex(ValueError):
    """A plist nested too deeply, too large, or cyclic (binary plists can be)."""


def _load_plist(data: bytes, fmt: plistlib.PlistFormat | None = None) -> Any:
    """``plistlib.loads``; any failure becomes a ValueError with a short reason."""
    try:
        return plistlib.loads(data, fmt=fmt)
    except Exception as err:  # plistlib raises many types on garbled input
        reason = str(err) or type(err).__name__
        raise ValueError(reason) from None


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:  # plistlib dates are naive UTC
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"


def _jsonable(value: Any, budget: list[int], depth: int = 0) -> object:
    """A JSON-serialisable copy: bytes -> hex, dates -> ISO; bounded against cycles."""
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_DEPTH:
        raise _TooComplex("the plist is nested too deeply or is too large")
    if isinstance(value, dict):
        return {str(k): _jsonable(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item, budget, depth + 1) for item in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, plistlib.UID):
        return value.data
    return str(value)


def _to_json_dict(value: Any) -> dict[str, object]:
    """A plist dict as JSON-serialisable data. Raises ValueError if it is not a dict."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a dictionary, found {type(value).__name__}")
    result = _jsonable(value, [_MAX_NODES])
    assert isinstance(result, dict)  # noqa: S101  (a dict maps to a dict)
    return result


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return isinstance(value, str) and value.strip().lower() in _TRUE_STRINGS


def _strings(value: Any) -> list[str]:
    """The string items of a plist array (anything else is ignored)."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


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
        info = _load_plist(archive.read(bundle + "Info.plist"))
    except ValueError as err:
        raise NotAnIosApp(
            f"not an iOS app: {bundle}Info.plist could not be parsed: {err}"
        ) from None
    if not isinstance(info, dict):
        raise NotAnIosApp(f"not an iOS app: {bundle}Info.plist is not a dictionary")
    if not _text(info.get("CFBundleIdentifier")):
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
        UsageDescription(key=key, text=_text(info[key]) or "", group=_usage_group(key))
        for key in sorted(k for k in info if _is_usage_key(k))
    ]


def _weak_tls(value: Any) -> bool:
    return isinstance(value, str) and value.strip() in _WEAK_TLS


def _insecure_domain(settings: Any) -> bool:
    if not isinstance(settings, dict):
        return False
    return (
        _truthy(settings.get("NSExceptionAllowsInsecureHTTPLoads"))
        or _truthy(settings.get("NSTemporaryExceptionAllowsInsecureHTTPLoads"))
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
        allows_arbitrary_loads=_truthy(ats.get("NSAllowsArbitraryLoads")),
        allows_arbitrary_loads_in_web_content=_truthy(
            ats.get("NSAllowsArbitraryLoadsInWebContent")
        ),
        insecure_exception_domains=sorted(
            str(domain) for domain, settings in domains.items() if _insecure_domain(settings)
        ),
    )


def _url_schemes(info: dict[Any, Any]) -> list[str]:
    types = info.get("CFBundleURLTypes")
    schemes: set[str] = set()
    for url_type in types if isinstance(types, list) else []:
        if isinstance(url_type, dict):
            schemes.update(_strings(url_type.get("CFBundleURLSchemes")))
    return sorted(schemes)


def _read_profile(archive: SafeZip, bundle: str, warnings: list[str]) -> dict[Any, Any] | None:
    """The plist inside ``embedded.mobileprovision``, or None (absent or damaged)."""
    name = bundle + "embedded.mobileprovision"
    if name not in archive:
        return None
    try:
        der = archive.read(name)
        signed = cms.ContentInfo.load(der)["content"]
        content = signed["encap_content_info"]["content"].native
        if not isinstance(content, bytes):
            raise ValueError("the CMS envelope holds no content")
        profile = _load_plist(content)
        if not isinstance(profile, dict):
            raise ValueError("its plist is not a dictionary")
    except VettingError as err:
        warnings.append(f"the provisioning profile could not be read: {err}")
        return None
    except Exception as err:  # asn1crypto raises many types on garbled DER
        warnings.append(f"the provisioning profile {name} is damaged: {err}")
        return None
    return profile


def _profile_summary(profile: dict[Any, Any]) -> dict[str, object]:
    entitlements = profile.get("Entitlements")
    entitlements = entitlements if isinstance(entitlements, dict) else {}
    devices = profile.get("ProvisionedDevices")
    dates = {
        key: _iso(value) if isinstance(value := profile.get(key), datetime) else None
        for key in ("CreationDate", "ExpirationDate")
    }
    return {
        "Name": _text(profile.get("Name")),
        "TeamIdentifier": _strings(profile.get("TeamIdentifier")),
        "TeamName": _text(profile.get("TeamName")),
        "AppIDName": _text(profile.get("AppIDName")),
        **dates,
        "ProvisionedDevices": len(devices) if isinstance(devices, list) else 0,
        "ProvisionsAllDevices": _truthy(profile.get("ProvisionsAllDevices")),
        "get-task-allow": _truthy(entitlements.get("get-task-allow")),
    }


def _profile_signers(profile: dict[Any, Any], warnings: list[str]) -> list[Signer]:
    certificates = profile.get("DeveloperCertificates")
    signers: list[Signer] = []
    seen: set[bytes] = set()
    for der in certificates if isinstance(certificates, list) else []:
        if not isinstance(der, bytes) or der in seen:
            continue
        seen.add(der)
        try:
            signers.append(signer_from_der(der, ["ios"]))
        except Exception as err:  # asn1crypto raises many types on garbled DER
            warnings.append(f"a developer certificate could not be parsed: {err}")
    return signers


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


def _blob_at(binary: bytes, position: int) -> bytes | None:
    """The XML plist of an entitlements blob starting at ``position``, if its length fits."""
    if position + 8 > len(binary):
        return None
    (length,) = struct.unpack_from(">I", binary, position + 4)
    if length <= 8 or length > _MAX_ENTITLEMENTS or position + length > len(binary):
        return None
    return binary[position + 8 : position + length]


def code_entitlements(binary: bytes, warnings: list[str]) -> dict[str, object] | None:
    """Entitlements embedded in a Mach-O code signature (any slice of a FAT binary)."""
    position = binary.rfind(_ENTITLEMENTS_MAGIC)
    failure: str | None = None
    for _ in range(_MAX_BLOB_CANDIDATES):
        if position < 0:
            break
        blob = _blob_at(binary, position)
        if blob is not None:
            try:
                return _to_json_dict(_load_plist(blob, fmt=plistlib.FMT_XML))
            except ValueError as err:
                failure = str(err)
        position = binary.rfind(_ENTITLEMENTS_MAGIC, 0, position)
    if failure is not None:
        warnings.append(f"the code signature's entitlements could not be parsed: {failure}")
    return None


def _entitlements(
    binary: bytes, profile: dict[Any, Any] | None, warnings: list[str]
) -> dict[str, object]:
    signed = code_entitlements(binary, warnings) if binary else None
    if signed is not None:
        return signed
    granted = profile.get("Entitlements") if profile else None
    if granted is None:
        return {}
    try:
        return _to_json_dict(granted)
    except ValueError as err:
        warnings.append(f"the provisioning profile's entitlements could not be read: {err}")
        return {}


def _privacy_manifest(
    archive: SafeZip, bundle: str, warnings: list[str]
) -> dict[str, object] | None:
    name = bundle + "PrivacyInfo.xcprivacy"
    if name not in archive:
        return None
    try:
        return _to_json_dict(_load_plist(archive.read(name)))
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
        id=str(_text(info.get("CFBundleIdentifier"))),
        version_code=_text(info.get("CFBundleVersion")),
        version_name=_text(info.get("CFBundleShortVersionString")),
        label=_text(info.get("CFBundleDisplayName")) or _text(info.get("CFBundleName")),
        min_os=_text(info.get("MinimumOSVersion")),
        team_id=team_id,
    )


def read_ipa(data: bytes, *, limits: ArchiveLimits) -> IosFacts:
    """Everything vetting needs from one IPA. Raises a :class:`VettingError` subclass."""
    archive = SafeZip(data, limits=limits, what="IPA")
    bundle = _find_bundle(archive)
    info = _read_info(archive, bundle)
    warnings: list[str] = []
    profile = _read_profile(archive, bundle, warnings)
    summary = _profile_summary(profile) if profile is not None else None
    binary = _read_executable(archive, bundle, info, warnings)
    entitlements = _entitlements(binary, profile, warnings)
    details = IosDetails(
        usage_descriptions=_usage_descriptions(info),
        ats=_ats(info),
        url_schemes=_url_schemes(info),
        background_modes=sorted(set(_strings(info.get("UIBackgroundModes")))),
        entitlements=entitlements,
        provisioning=summary,
        privacy_manifest=_privacy_manifest(archive, bundle, warnings),
        frameworks=_frameworks(archive, bundle),
    )
    return IosFacts(
        app=_app_info(info, _team_id(summary, entitlements)),
        signers=_profile_signers(profile, warnings) if profile is not None else [],
        details=details,
        binary=binary,
        warnings=warnings,
    )
