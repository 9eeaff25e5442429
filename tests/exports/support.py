"""Literal inputs for the export builders, and a certificate to sign profiles with."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from appwarden.exports.model import AppLabel, ScopeLists
from appwarden.exports.scope import resolve_scope
from appwarden.policy import RuleInput, WaiverInput

NOW = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)
GROUP = "government-issued"
TIKTOK = "com.zhiliaoapp.musically"
TRILL = "com.ss.android.ugc.trill"  # a ByteDance Android app in the catalog
LEMON8 = "com.bd.lemon8"  # a ByteDance iOS app in the catalog
PATTERN = "com.wechat.*"
SIGNER = "ab" * 32


def rules(*extra: RuleInput) -> list[RuleInput]:
    """A ban on TikTok (both platforms), on ByteDance (publisher), a block, a pattern and a
    signer ban, and a ban for another group that must not reach this one."""
    return [
        RuleInput(id=1, action="ban", target_kind="app", target_value=TIKTOK, scope=[GROUP]),
        RuleInput(
            id=2,
            action="ban",
            target_kind="publisher",
            scope=[GROUP],
            publisher_ids=[7, 8],
            publisher_domains=["bytedance.com", "tiktokv.com", "cdn.amazonaws.com"],
            publisher_app_ids=[TRILL, LEMON8],
        ),
        RuleInput(id=3, action="block", target_kind="app", target_value="com.block", scope=["*"]),
        RuleInput(id=4, action="ban", target_kind="pattern", target_value=PATTERN, scope=[GROUP]),
        RuleInput(id=5, action="ban", target_kind="signer", target_value=SIGNER, scope=[GROUP]),
        RuleInput(id=6, action="ban", target_kind="app", target_value="com.staff", scope=["staff"]),
        *extra,
    ]


def lists(
    extra: Sequence[RuleInput] = (), waivers: Sequence[WaiverInput] = (), scope: str = GROUP
) -> ScopeLists:
    return resolve_scope(
        scope,
        rules(*extra),
        waivers,
        now=NOW,
        platforms_of={TRILL: frozenset({"android"}), LEMON8: frozenset({"ios"})},
        endpoints={
            TIKTOK: ["api16.tiktokv.com", "log.byteoversea.com", "www.googleapis.com"],
            "com.allowed": ["log.byteoversea.com"],
        },
        labels={TIKTOK: AppLabel(name="TikTok", publisher="TikTok Pte. Ltd.")},
    )


def allow(*app_ids: str) -> list[RuleInput]:
    return [
        RuleInput(id=100 + n, action="allow", target_kind="app", target_value=a, scope=[GROUP])
        for n, a in enumerate(app_ids)
    ]


def certificate_pair() -> tuple[bytes, bytes]:
    """A self-signed EC certificate and its key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Profile Signing")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem
