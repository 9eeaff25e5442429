"""Self-signed certificates and v1 (JAR) signatures for APKs."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

from builders.archives import zip_bytes


def certificate(
    common_name: str = "Example Release", organization: str = "Example", *, weak: bool = False
) -> tuple[Any, Any]:
    """A self-signed RSA certificate and its key (``cryptography`` objects). ``weak`` signs
    the certificate with SHA-1 instead of SHA-256 (built with asn1crypto, since
    ``cryptography`` refuses to make SHA-1 signatures for certificates).
    ``("Android Debug", "Android")`` is the subject of the SDK's debug certificate."""
    import datetime

    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    name = asn1_x509.Name.build(
        {"country_name": "US", "organization_name": organization, "common_name": common_name}
    )
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    algorithm = {"algorithm": "sha1_rsa" if weak else "sha256_rsa"}
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": 0x1234,
            "signature": algorithm,
            "issuer": name,
            "validity": {
                "not_before": asn1_x509.Time({"utc_time": start}),
                "not_after": asn1_x509.Time({"utc_time": start + datetime.timedelta(days=3650)}),
            },
            "subject": name,
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(public),
        }
    )
    hash_algorithm = hashes.SHA1() if weak else hashes.SHA256()  # noqa: S303 (on purpose)
    signature = key.sign(tbs.dump(), padding.PKCS1v15(), hash_algorithm)
    der = asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature}
    ).dump()
    return x509.load_der_x509_certificate(der), key


def sign_v1(apk: bytes, cert: Any, key: Any) -> bytes:
    """``apk`` with a v1 (JAR) signature by ``cert``/``key`` added: META-INF/MANIFEST.MF
    with a SHA-256 digest per entry, CERT.SF with the digests of those sections and
    CERT.RSA, a detached PKCS#7 signature of CERT.SF (what androguard verifies)."""
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    def digest(data: bytes) -> str:
        return base64.b64encode(hashlib.sha256(data).digest()).decode()

    with zipfile.ZipFile(io.BytesIO(apk)) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    main = b"Manifest-Version: 1.0\r\nCreated-By: appwarden tests\r\n\r\n"
    sections = [
        f"Name: {name}\r\nSHA-256-Digest: {digest(data)}\r\n\r\n".encode() for name, data in entries
    ]
    manifest_mf = main + b"".join(sections)
    signature_file = (
        f"Signature-Version: 1.0\r\nSHA-256-Digest-Manifest: {digest(manifest_mf)}\r\n\r\n"
    ).encode() + b"".join(
        f"Name: {name}\r\nSHA-256-Digest: {digest(section)}\r\n\r\n".encode()
        for (name, _), section in zip(entries, sections, strict=True)
    )
    block = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(signature_file)
        .add_signer(cert, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature])
    )
    return zip_bytes(
        [
            ("META-INF/MANIFEST.MF", manifest_mf),
            ("META-INF/CERT.SF", signature_file),
            ("META-INF/CERT.RSA", block),
            *entries,
        ]
    )
