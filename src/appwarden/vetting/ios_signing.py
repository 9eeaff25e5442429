"""iOS signing: the provisioning profile and the entitlements of the code signature."""

from __future__ import annotations

import plistlib
import struct
from datetime import datetime
from typing import Any

from asn1crypto import cms

from appwarden.vetting.archive import SafeZip
from appwarden.vetting.errors import VettingError
from appwarden.vetting.model import Signer
from appwarden.vetting.plists import iso_utc, load_plist, strings_of, text_of, to_json_dict, truthy
from appwarden.vetting.signers import signer_from_der

_ENTITLEMENTS_MAGIC = b"\xfa\xde\x71\x71"
_MAX_ENTITLEMENTS = 4 * 1024 * 1024
_MAX_BLOB_CANDIDATES = 64


def read_profile(archive: SafeZip, bundle: str, warnings: list[str]) -> dict[Any, Any] | None:
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
        profile = load_plist(content)
        if not isinstance(profile, dict):
            raise ValueError("its plist is not a dictionary")
    except VettingError as err:
        warnings.append(f"the provisioning profile could not be read: {err}")
        return None
    except Exception as err:  # asn1crypto raises many types on garbled DER
        warnings.append(f"the provisioning profile {name} is damaged: {err}")
        return None
    return profile


def profile_summary(profile: dict[Any, Any]) -> dict[str, object]:
    entitlements = profile.get("Entitlements")
    entitlements = entitlements if isinstance(entitlements, dict) else {}
    devices = profile.get("ProvisionedDevices")
    dates = {
        key: iso_utc(value) if isinstance(value := profile.get(key), datetime) else None
        for key in ("CreationDate", "ExpirationDate")
    }
    return {
        "Name": text_of(profile.get("Name")),
        "TeamIdentifier": strings_of(profile.get("TeamIdentifier")),
        "TeamName": text_of(profile.get("TeamName")),
        "AppIDName": text_of(profile.get("AppIDName")),
        **dates,
        "ProvisionedDevices": len(devices) if isinstance(devices, list) else 0,
        "ProvisionsAllDevices": truthy(profile.get("ProvisionsAllDevices")),
        "get-task-allow": truthy(entitlements.get("get-task-allow")),
    }


def profile_signers(profile: dict[Any, Any], warnings: list[str]) -> list[Signer]:
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
                return to_json_dict(load_plist(blob, fmt=plistlib.FMT_XML))
            except ValueError as err:
                failure = str(err)
        position = binary.rfind(_ENTITLEMENTS_MAGIC, 0, position)
    if failure is not None:
        warnings.append(f"the code signature's entitlements could not be parsed: {failure}")
    return None


def entitlements_of(
    binary: bytes, profile: dict[Any, Any] | None, warnings: list[str]
) -> dict[str, object]:
    signed = code_entitlements(binary, warnings) if binary else None
    if signed is not None:
        return signed
    granted = profile.get("Entitlements") if profile else None
    if granted is None:
        return {}
    try:
        return to_json_dict(granted)
    except ValueError as err:
        warnings.append(f"the provisioning profile's entitlements could not be read: {err}")
        return {}
