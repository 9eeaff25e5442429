"""Checks on how the app is signed (Android signers, iOS provisioning)."""

from __future__ import annotations

from appwarden.vetting.checks.base import Facts, check

_WEAK_HASHES = ("md5", "sha1", "md2")


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
