"""Tests for cells.security.auth (the tokens file) and cellops.certs (the development CA)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from cellops import certs
from cells.security.auth import TokenStore
from model.config import ConfigError
from model.errors import InvalidArgument, Unauthenticated
from model.principal import Principal


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_an_issued_token_authenticates_as_its_project_and_role(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    token, record = store.issue("acme", "member", "ci")
    assert store.authenticate(bearer(token)) == Principal(record.id, "acme", "member")
    admin, _ = store.issue("", "admin")
    assert store.authenticate(bearer(admin)).admin


def test_the_file_keeps_a_hash_never_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    token, record = TokenStore(path).issue("acme", "member")
    text = path.read_text()
    secret = token.rsplit("_", 1)[1]
    assert secret not in text and record.sha256 in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(text)["tokens"][0]["id"] == record.id


@pytest.mark.parametrize("header", [
    {}, {"authorization": "Basic abc"}, bearer("crt_unknown_secret"), bearer("not-a-token"),
], ids=["missing", "basic", "unknown-id", "malformed"])
def test_bad_credentials_are_unauthenticated(tmp_path: Path, header: dict[str, str]) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    store.issue("acme", "member")
    with pytest.raises(Unauthenticated):
        store.authenticate(header)


def test_a_right_id_with_a_wrong_secret_is_refused(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    token, _ = store.issue("acme", "member")
    with pytest.raises(Unauthenticated):
        store.authenticate(bearer(token[:-2] + "xx"))


def test_a_second_store_sees_issues_and_revocations_without_restart(tmp_path: Path) -> None:
    cell, operator = TokenStore(tmp_path / "t.json"), TokenStore(tmp_path / "t.json")
    token, record = operator.issue("acme", "member")
    assert cell.authenticate(bearer(token)).project == "acme"
    operator.revoke(record.id)
    with pytest.raises(Unauthenticated):
        cell.authenticate(bearer(token))


def test_issuing_checks_role_and_project(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "t.json")
    with pytest.raises(InvalidArgument, match="role"):
        store.issue("acme", "owner")
    with pytest.raises(InvalidArgument, match="project"):
        store.issue("", "member")
    with pytest.raises(InvalidArgument, match="no token"):
        store.revoke("missing")


def test_a_damaged_tokens_file_is_a_clear_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="tokens file"):
        TokenStore(path).authenticate(bearer("crt_a_b"))


def test_a_cell_certificate_names_the_cell_and_is_signed_by_the_ca(tmp_path: Path) -> None:
    ca = certs.init_ca(tmp_path)
    made = certs.issue(tmp_path, "eu-a", ("10.0.0.7", "eu-a.example.net"))
    cert = x509.load_pem_x509_certificate(made.cert.read_bytes())
    authority = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "eu-a"
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"eu-a", "eu-a.example.net"} <= set(sans.get_values_for_type(x509.DNSName))
    assert "10.0.0.7" in {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    cert.verify_directly_issued_by(authority)  # raises if not
    assert stat.S_IMODE(made.key.stat().st_mode) == 0o600


def test_the_ca_is_never_overwritten_and_needed_to_issue(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="certs init"):
        certs.issue(tmp_path, "eu-a")
    certs.init_ca(tmp_path)
    before = (tmp_path / "ca.pem").read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        certs.init_ca(tmp_path)
    assert (tmp_path / "ca.pem").read_bytes() == before
