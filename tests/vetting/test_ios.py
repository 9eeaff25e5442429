"""Tests for appwarden.vetting.ios: real IPAs from the shared fixtures and IPAs built here."""

from __future__ import annotations

import hashlib
import plistlib
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest

from appwarden.vetting.errors import NotAnIosApp, UnsafeArchive, VettingError
from appwarden.vetting.ios import IosFacts, read_ipa
from appwarden.vetting.limits import ArchiveLimits
from tests.conftest import APPS, require

LIMITS = ArchiveLimits()
APP = "Payload/Demo.app/"
_INFO_PLIST = re.compile(r"^Payload/[^/]+\.app/Info\.plist$")


def _zip_info_plist(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if _INFO_PLIST.match(n)]
        assert len(names) == 1
        info = plistlib.loads(archive.read(names[0]))
    assert isinstance(info, dict)
    return info


def _is_usage_key(key: str) -> bool:
    return key.endswith("UsageDescription") and (
        key.startswith("NS") or key == "NFCReaderUsageDescription"
    )


def _build(path: Path, entries: dict[str, bytes]) -> bytes:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path.read_bytes()


def _info(**extra: Any) -> bytes:
    info: dict[str, Any] = {
        "CFBundleIdentifier": "com.example.demo",
        "CFBundleVersion": "42",
        "CFBundleShortVersionString": "1.2.3",
        "CFBundleName": "Demo",
        "CFBundleExecutable": "Demo",
        "MinimumOSVersion": "15.0",
    }
    info.update(extra)
    return plistlib.dumps(info)


def _ipa(tmp_path: Path, info: bytes | None = None, **files: bytes) -> IosFacts:
    entries = {APP + "Info.plist": info if info is not None else _info()}
    entries.update({APP + name.replace("__", "/"): data for name, data in files.items()})
    return read_ipa(_build(tmp_path / "demo.ipa", entries), limits=LIMITS)


def _entitlements_blob(entitlements: dict[str, Any]) -> bytes:
    body = plistlib.dumps(entitlements, fmt=plistlib.FMT_XML)
    return b"\xfa\xde\x71\x71" + struct.pack(">I", len(body) + 8) + body


# --- real IPAs ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["helloworld.ipa", "com.fake.IpaApp_1000000000001.ipa"])
def test_identity_matches_info_plist(name: str) -> None:
    path = require(APPS / name)
    info = _zip_info_plist(path)
    facts = read_ipa(path.read_bytes(), limits=LIMITS)
    assert facts.app.platform == "ios"
    assert facts.app.id == info["CFBundleIdentifier"]
    assert facts.app.version_code == info["CFBundleVersion"]
    assert facts.app.version_name == info["CFBundleShortVersionString"]
    assert facts.app.label == info.get("CFBundleDisplayName", info.get("CFBundleName"))
    assert facts.app.min_os == info["MinimumOSVersion"]
    usage_keys = sorted(k for k in info if _is_usage_key(k))
    assert [u.key for u in facts.details.usage_descriptions] == usage_keys
    for usage in facts.details.usage_descriptions:
        assert usage.text == info[usage.key]


def test_fake_ipa_usage_groups_and_schemes() -> None:
    path = require(APPS / "com.fake.IpaApp_1000000000001.ipa")
    info = _zip_info_plist(path)
    facts = read_ipa(path.read_bytes(), limits=LIMITS)
    groups = {u.key: u.group for u in facts.details.usage_descriptions}
    assert groups.get("NSCameraUsageDescription") == "camera"
    assert groups.get("NSMicrophoneUsageDescription") == "microphone"
    assert groups.get("NSPhotoLibraryUsageDescription") == "storage_media"
    expected = sorted({s for t in info["CFBundleURLTypes"] for s in t["CFBundleURLSchemes"]})
    assert facts.details.url_schemes == expected
    assert facts.binary == b""
    assert any("main executable" in w for w in facts.warnings)


def _profile_plist(der: bytes) -> dict[str, Any]:
    """The profile's plist, cut out of the DER by its XML markers (independent of CMS)."""
    start = der.index(b"<?xml")
    end = der.index(b"</plist>") + len(b"</plist>")
    profile = plistlib.loads(der[start:end])
    assert isinstance(profile, dict)
    return profile


def test_helloworld_profile_signers_and_entitlements() -> None:
    path = require(APPS / "helloworld.ipa")
    with zipfile.ZipFile(path) as archive:
        bundle = next(n for n in archive.namelist() if _INFO_PLIST.match(n))[: -len("Info.plist")]
        profile = _profile_plist(archive.read(bundle + "embedded.mobileprovision"))
        info = plistlib.loads(archive.read(bundle + "Info.plist"))
        executable = archive.read(bundle + info["CFBundleExecutable"])
    facts = read_ipa(path.read_bytes(), limits=LIMITS)
    team = profile["TeamIdentifier"][0]
    assert team
    assert facts.app.team_id == team
    provisioning = facts.details.provisioning
    assert provisioning is not None
    assert provisioning["TeamIdentifier"] == profile["TeamIdentifier"]
    assert provisioning["Name"] == profile["Name"]
    assert provisioning["ProvisionsAllDevices"] is bool(profile.get("ProvisionsAllDevices"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(provisioning["ExpirationDate"]))
    assert facts.signers
    expected = {hashlib.sha256(der).hexdigest() for der in profile["DeveloperCertificates"]}
    assert {s.sha256 for s in facts.signers} == expected
    for signer in facts.signers:
        assert re.fullmatch(r"[0-9a-f]{64}", signer.sha256)
        assert signer.schemes == ["ios"]
    assert facts.binary == executable
    app_id = facts.details.entitlements["application-identifier"]
    assert app_id == profile["Entitlements"]["application-identifier"]
    assert facts.warnings == []


# --- IPAs built here ------------------------------------------------------------------


def test_no_info_plist(tmp_path: Path) -> None:
    data = _build(tmp_path / "x.ipa", {"Payload/Demo.app/Demo": b"\xcf\xfa\xed\xfe"})
    with pytest.raises(NotAnIosApp, match="no Payload"):
        read_ipa(data, limits=LIMITS)


def test_nested_info_plist_is_not_the_bundle(tmp_path: Path) -> None:
    data = _build(tmp_path / "x.ipa", {"Payload/Demo.app/Sub/Info.plist": _info()})
    with pytest.raises(NotAnIosApp):
        read_ipa(data, limits=LIMITS)


@pytest.mark.parametrize(
    "info",
    [
        b"\x00\x01garbage\xff",
        b"bplist00\x00\x00\x00",
        b"<?xml version='1.0'?><plist><dict><key>a</key>",
        plistlib.dumps(["not", "a", "dict"]),
        plistlib.dumps({"CFBundleName": "No identifier"}),
    ],
)
def test_garbled_info_plist(tmp_path: Path, info: bytes) -> None:
    with pytest.raises(NotAnIosApp, match="Info.plist"):
        _ipa(tmp_path, info=info)


def test_binary_info_plist(tmp_path: Path) -> None:
    info = plistlib.dumps(plistlib.loads(_info()), fmt=plistlib.FMT_BINARY)
    facts = _ipa(tmp_path, info=info)
    assert facts.app.id == "com.example.demo"
    assert facts.app.version_code == "42"
    assert facts.app.label == "Demo"


def test_ats_exceptions(tmp_path: Path) -> None:
    ats = {
        "NSAllowsArbitraryLoads": True,
        "NSExceptionDomains": {
            "plain.example.com": {"NSExceptionAllowsInsecureHTTPLoads": True},
            "old.example.com": {"NSTemporaryExceptionAllowsInsecureHTTPLoads": True},
            "weak.example.com": {"NSExceptionMinimumTLSVersion": "TLSv1.0"},
            "fine.example.com": {"NSExceptionMinimumTLSVersion": "TLSv1.2"},
            "odd.example.com": "not a dict",
        },
    }
    facts = _ipa(tmp_path, info=_info(NSAppTransportSecurity=ats))
    assert facts.details.ats.allows_arbitrary_loads is True
    assert facts.details.ats.allows_arbitrary_loads_in_web_content is False
    assert facts.details.ats.insecure_exception_domains == [
        "old.example.com",
        "plain.example.com",
        "weak.example.com",
    ]


def test_url_schemes_background_modes_usage(tmp_path: Path) -> None:
    info = _info(
        CFBundleURLTypes=[
            {"CFBundleURLSchemes": ["demo", "fb123"]},
            {"CFBundleURLSchemes": ["demo"]},
            "junk",
        ],
        UIBackgroundModes=["location", "audio", 7],
        NSLocationAlwaysAndWhenInUseUsageDescription="Where",
        NSUserTrackingUsageDescription="Track",
        NSFaceIDUsageDescription="Face",
        NSRemindersUsageDescription="Todo",
        NFCReaderUsageDescription="Tap",
        NSSiriUsageDescription="Siri",
    )
    facts = _ipa(tmp_path, info=info)
    assert facts.details.url_schemes == ["demo", "fb123"]
    assert facts.details.background_modes == ["audio", "location"]
    groups = {u.key: u.group for u in facts.details.usage_descriptions}
    assert groups == {
        "NFCReaderUsageDescription": "nearby_devices",
        "NSFaceIDUsageDescription": "biometrics",
        "NSLocationAlwaysAndWhenInUseUsageDescription": "location",
        "NSRemindersUsageDescription": "calendar",
        "NSSiriUsageDescription": None,
        "NSUserTrackingUsageDescription": "identifiers",
    }
    assert [u.key for u in facts.details.usage_descriptions] == sorted(groups)


def test_privacy_manifest(tmp_path: Path) -> None:
    manifest = {
        "NSPrivacyTracking": False,
        "NSPrivacyAccessedAPITypes": [
            {
                "NSPrivacyAccessedAPIType": "NSPrivacyAccessedAPICategoryUserDefaults",
                "NSPrivacyAccessedAPITypeReasons": ["CA92.1"],
            }
        ],
    }
    facts = _ipa(tmp_path, **{"PrivacyInfo.xcprivacy": plistlib.dumps(manifest)})
    assert facts.details.privacy_manifest == manifest


def test_damaged_privacy_manifest_is_a_warning(tmp_path: Path) -> None:
    facts = _ipa(tmp_path, **{"PrivacyInfo.xcprivacy": b"<plist><dict>"})
    assert facts.details.privacy_manifest is None
    assert any("privacy manifest" in w for w in facts.warnings)


def _cyclic_binary_plist() -> bytes:
    """A binary plist whose top dict holds itself under key "a" (plistlib reads cycles)."""
    objects = b"\xd1\x01\x00" + b"\x51a"  # dict {ref1: ref0}, then the string "a"
    offsets = bytes([8, 11])
    trailer = b"\x00" * 6 + b"\x01\x01" + struct.pack(">QQQ", 2, 0, 8 + len(objects))
    return b"bplist00" + objects + offsets + trailer


def test_cyclic_privacy_manifest_is_a_warning(tmp_path: Path) -> None:
    facts = _ipa(tmp_path, **{"PrivacyInfo.xcprivacy": _cyclic_binary_plist()})
    assert facts.details.privacy_manifest is None
    assert any("privacy manifest" in w for w in facts.warnings)


def test_frameworks(tmp_path: Path) -> None:
    facts = _ipa(
        tmp_path,
        **{
            "Frameworks__Foo.framework__Foo": b"\xcf\xfa\xed\xfe",
            "Frameworks__Foo.framework__Info.plist": plistlib.dumps({}),
            "Frameworks__Bar.framework__Bar": b"\xcf\xfa\xed\xfe",
            "Frameworks__libswiftCore.dylib": b"\xcf\xfa\xed\xfe",
            "Frameworks__Deep__Nope.framework__Nope": b"",
        },
    )
    assert facts.details.frameworks == ["Bar", "Foo", "libswiftCore.dylib"]


def test_damaged_provisioning_profile_is_a_warning(tmp_path: Path) -> None:
    facts = _ipa(tmp_path, **{"embedded.mobileprovision": b"0\x82\x01\x00garbage"})
    assert facts.app.id == "com.example.demo"
    assert facts.details.provisioning is None
    assert facts.signers == []
    assert any("provisioning profile" in w for w in facts.warnings)


def test_entitlements_from_code_signature(tmp_path: Path) -> None:
    entitlements = {
        "application-identifier": "ABCDE12345.com.example.demo",
        "get-task-allow": True,
        "keychain-access-groups": ["ABCDE12345.*"],
        "com.apple.developer.associated-domains": ["applinks:example.com"],
    }
    decoy = b"\xfa\xde\x71\x71\xff\xff\xff\xff"  # a later magic whose length does not fit
    binary = b"\xcf\xfa\xed\xfe" + b"\x00" * 64 + _entitlements_blob(entitlements) + decoy
    facts = _ipa(tmp_path, Demo=binary)
    assert facts.binary == binary
    assert facts.details.entitlements == entitlements
    assert facts.app.team_id == "ABCDE12345"
    assert facts.warnings == []


def test_damaged_entitlements_blob_is_a_warning(tmp_path: Path) -> None:
    body = b"<?xml version='1.0'?><plist><dict><key>x</key>"
    binary = b"\xcf\xfa\xed\xfe" + b"\xfa\xde\x71\x71" + struct.pack(">I", len(body) + 8) + body
    facts = _ipa(tmp_path, Demo=binary)
    assert facts.details.entitlements == {}
    assert any("entitlements" in w for w in facts.warnings)


def test_team_identifier_entitlement(tmp_path: Path) -> None:
    blob = _entitlements_blob(
        {
            "com.apple.developer.team-identifier": "TEAM999999",
            "application-identifier": "OTHER00000.com.example.demo",
            "data": b"\x01\x02",
        }
    )
    facts = _ipa(tmp_path, Demo=b"\xca\xfe\xba\xbe" + blob)
    assert facts.app.team_id == "TEAM999999"
    assert facts.details.entitlements["data"] == "0102"


def test_path_traversal_is_refused(tmp_path: Path) -> None:
    data = _build(tmp_path / "evil.ipa", {APP + "Info.plist": _info(), "../evil": b"x"})
    with pytest.raises(UnsafeArchive):
        read_ipa(data, limits=LIMITS)


def test_not_a_zip(tmp_path: Path) -> None:
    with pytest.raises(VettingError):
        read_ipa(b"definitely not a zip", limits=LIMITS)


def test_mutated_helloworld_never_crashes() -> None:
    data = require(APPS / "helloworld.ipa").read_bytes()
    for step in range(1, len(data), max(1, len(data) // 150)):
        for candidate in (data[:step], data[:step] + b"\x00" * 16 + data[step + 16 :]):
            try:
                read_ipa(candidate, limits=LIMITS)
            except VettingError:
                pass
