"""Keypairs' cryptography, as Nova does it (nova.crypto): a generated ssh key is
RSA 2048 whose private half is PEM and public half OpenSSH; an ssh key's
fingerprint is the MD5 of its blob, colon-separated hex; an x509 keypair is a
certificate, fingerprinted by the SHA-1 of its DER."""

from __future__ import annotations

import base64
import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SSH, X509 = "ssh", "x509"


class InvalidKey(ValueError):
    """The public key (or certificate) given cannot be read."""


def generate(kind: str, name: str) -> tuple[str, str]:
    """A new (private key PEM, public key) of `kind`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    if kind == X509:
        return private, _certificate(key, name)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} Generated-by-Nova"


def _certificate(key: rsa.RSAPrivateKey, name: str) -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64] or "keypair")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def fingerprint(kind: str, public_key: str) -> str:
    """The key's fingerprint; InvalidKey when it is not a key of `kind`."""
    try:
        if kind == X509:
            der = x509.load_pem_x509_certificate(public_key.encode()).public_bytes(
                serialization.Encoding.DER)
            return _colons(hashlib.sha1(der).hexdigest())
        serialization.load_ssh_public_key(public_key.strip().encode())
        blob = base64.b64decode(public_key.split()[1])
    except (ValueError, IndexError, TypeError) as exc:
        raise InvalidKey(str(exc)) from None
    return _colons(hashlib.md5(blob).hexdigest())


def _colons(digest: str) -> str:
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
