"""Signer certificates, as read by androguard (Android) or from a provisioning profile (iOS)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from asn1crypto import x509

from appwarden.vetting.model import Signer

_DEBUG_SUBJECT = {"common_name": "Android Debug", "organization_name": "Android"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_SHORT_NAMES = {
    "common_name": "CN",
    "organization_name": "O",
    "organizational_unit_name": "OU",
    "country_name": "C",
    "locality_name": "L",
    "state_or_province_name": "ST",
    "email_address": "E",
    "serial_number": "SERIALNUMBER",
}


def _name(name: x509.Name) -> str:
    """``C=US, O=Android, CN=Android Debug``: attributes in certificate order."""
    parts: list[str] = []
    for rdn in name.chosen:
        for attribute in rdn:
            key = str(attribute["type"].native)
            value = attribute["value"].native
            parts.append(f"{_SHORT_NAMES.get(key, key)}={value}")
    return ", ".join(parts)


def signer_from_der(der: bytes, schemes: list[str]) -> Signer:
    """Describe one DER certificate. Raises ValueError if it cannot be parsed."""
    cert = x509.Certificate.load(der)
    tbs = cert["tbs_certificate"]
    validity = tbs["validity"]
    subject = cert.subject.native
    debug = all(subject.get(key) == value for key, value in _DEBUG_SUBJECT.items())
    algorithm = cert["signature_algorithm"]
    try:
        algorithm_name = f"{algorithm.hash_algo}-{algorithm.signature_algo}"
    except ValueError:
        algorithm_name = str(algorithm["algorithm"].dotted)
    return Signer(
        schemes=schemes,
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        serial=format(tbs["serial_number"].native, "x"),
        not_before=_iso(validity["not_before"].native),
        not_after=_iso(validity["not_after"].native),
        sha256=hashlib.sha256(der).hexdigest(),
        sha1=hashlib.sha1(der, usedforsecurity=False).hexdigest(),
        signature_algorithm=algorithm_name,
        debug=debug,
        # Issuer equal to subject, byte for byte: asn1crypto's self_signed compares names
        # with LDAP string preparation, which costs milliseconds per certificate.
        self_signed=tbs["issuer"].dump() == tbs["subject"].dump(),
    )
