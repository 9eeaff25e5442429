"""CMS (PKCS #7) signing of a configuration profile with a given certificate and key."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from appwarden.errors import Invalid


def _certificate(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise Invalid("the signing certificate is not a PEM X.509 certificate") from None


def _key(pem: bytes) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise Invalid("the signing key is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise Invalid("the signing key must be an RSA or EC key")
    return key


def sign(content: bytes, certificate_pem: bytes, key_pem: bytes) -> bytes:
    """DER CMS SignedData with ``content`` embedded (what devices read as a signed
    ``.mobileconfig``); the key must belong to the certificate."""
    certificate, key = _certificate(certificate_pem), _key(key_pem)
    if certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise Invalid("the signing key does not belong to the signing certificate")
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(certificate, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
