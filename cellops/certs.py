"""A development certificate authority for cells (`cellrouter certs`).

    cellrouter certs init --dir certs            # certs/ca.pem, certs/ca.key
    cellrouter certs issue eu-a --dir certs      # certs/eu-a.pem, certs/eu-a.key

A cell's certificate names the cell: its subject common name and a DNS
subject-alternative name are the cell name, which is how a parent knows that
a child registering as "eu-a" is eu-a (and how a child checks its parent).
Loopback addresses are added so that cells on one machine can verify each
other by address. Production deployments use the operator's own CA and
certificates; only the naming and role rules matter to cellrouter.

A certificate also says what its holder is, as a SAN URI
`urn:cellrouter:role:<role>`:

    cell    a cell: serves its parent and calls it (server and client auth)
    agent   an agent reporting to a leaf (client auth)
    api     the HTTPS API process (server auth only)

A router accepts a child only with a `cell` certificate and a leaf accepts an
agent only with an `agent` one (`cellwire.tls.peer_role`).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cellwire.tls import ROLE_URI_PREFIX
from model.config import ConfigError

LOOPBACK = ("localhost", "127.0.0.1", "::1")
ROLES = ("cell", "agent", "api")
# What each role's key may be used for: an agent only calls its leaf.
_USAGES = {
    "cell": [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
    "agent": [ExtendedKeyUsageOID.CLIENT_AUTH],
    "api": [ExtendedKeyUsageOID.SERVER_AUTH],
}
_CA_DAYS = 3650
_CELL_DAYS = 825


@dataclass(frozen=True, slots=True)
class Issued:
    cert: Path
    key: Path


def init_ca(directory: Path, name: str = "cellrouter development CA") -> Issued:
    """Create ca.pem and ca.key in `directory`; refuses to overwrite a CA."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "ca.pem", directory / "ca.key"
    if cert_path.exists() or key_path.exists():
        raise ConfigError(f"a CA already exists in {directory}; remove it to start again")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True,
            content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write(cert_path, key_path, cert, key)
    return Issued(cert_path, key_path)


def issue(directory: Path, name: str, hosts: tuple[str, ...] = LOOPBACK,
          role: str = "cell") -> Issued:
    """Issue NAME.pem and NAME.key in `directory`, signed by its CA, for `role`
    (one of ROLES; a cell both serves and calls, an agent calls, the API
    serves). Raises ConfigError for an unknown role or a missing CA."""
    if role not in ROLES:
        raise ConfigError(f"unknown certificate role {role!r}; expected one of {', '.join(ROLES)}")
    ca_cert, ca_key = _load_ca(directory)
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    names: list[x509.GeneralName] = [
        x509.DNSName(name), x509.UniformResourceIdentifier(ROLE_URI_PREFIX + role)]
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_CELL_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage(_USAGES[role]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    issued = Issued(directory / f"{name}.pem", directory / f"{name}.key")
    _write(issued.cert, issued.key, cert, key)
    return issued


def ensure(directory: Path, name: str, role: str) -> Issued:
    """NAME's certificate in `directory` for `role`: the one there, or a new one
    when there is none or it carries another role (or none: made before roles)."""
    issued = Issued(directory / f"{name}.pem", directory / f"{name}.key")
    if issued.key.exists() and role_of(issued.cert) == role:
        return issued
    return issue(directory, name, role=role)


def role_of(cert_path: Path) -> str | None:
    """The role a certificate file carries; None without one, or without the file."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (FileNotFoundError, ValueError, x509.ExtensionNotFound):
        return None
    roles = [uri[len(ROLE_URI_PREFIX):] for uri in
             names.get_values_for_type(x509.UniformResourceIdentifier)
             if uri.startswith(ROLE_URI_PREFIX)]
    return roles[0] if roles else None


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    except FileNotFoundError:
        raise ConfigError(f"no CA in {directory}: run `cellrouter certs init` first") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{directory / 'ca.key'} is not a key made by `cellrouter certs init`")
    return cert, key


def _write(cert_path: Path, key_path: Path, cert: x509.Certificate,
           key: ec.EllipticCurvePrivateKey) -> None:
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # private from birth
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
