"""Certificates carry a role (cellops.certs), configs say which children and
agents a cell admits (cells.config, cells.security.names), and the tree
runner writes both (cellops.tree)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from cellops import certs
from cellops.cli import _parser
from cellops.tree_files import Security, cell_config
from cellops.tree_spec import load_tree
from cells.config import from_mapping
from cells.security.names import NameRule
from cellwire.tls import peer_role, require_role
from model.config import ConfigError
from model.errors import PermissionDenied

SERVER, CLIENT = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH


@pytest.mark.parametrize(("role", "usages"), [
    ("cell", {SERVER, CLIENT}), ("agent", {CLIENT}), ("api", {SERVER}),
], ids=["cell", "agent", "api"])
def test_a_certificate_says_its_role_and_is_good_for_that_only(
        tmp_path: Path, role: str, usages: set[x509.ObjectIdentifier]) -> None:
    certs.init_ca(tmp_path)
    made = certs.issue(tmp_path, "lb-1", role=role)
    cert = x509.load_pem_x509_certificate(made.cert.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.UniformResourceIdentifier) == [
        f"urn:cellrouter:role:{role}"]
    assert "lb-1" in sans.get_values_for_type(x509.DNSName)
    assert set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == usages
    assert certs.role_of(made.cert) == role


def test_an_unknown_role_is_refused(tmp_path: Path) -> None:
    certs.init_ca(tmp_path)
    with pytest.raises(ConfigError, match="unknown certificate role 'admin'; expected one of"
                                          " cell, agent, api"):
        certs.issue(tmp_path, "x", role="admin")


def test_ensure_keeps_a_certificate_of_the_role_and_reissues_another(tmp_path: Path) -> None:
    certs.init_ca(tmp_path)
    first = certs.ensure(tmp_path, "z1", "cell").cert.read_bytes()
    assert certs.ensure(tmp_path, "z1", "cell").cert.read_bytes() == first
    assert certs.role_of(certs.ensure(tmp_path, "z1", "agent").cert) == "agent"
    assert certs.role_of(tmp_path / "missing.pem") is None


@pytest.mark.parametrize(("argv", "role"), [
    (["certs", "issue", "lb-1", "--dir", "d"], "cell"),
    (["certs", "issue", "lb-1", "--dir", "d", "--role", "agent"], "agent"),
    (["certs", "issue", "api", "--role", "api"], "api"),
], ids=["default", "agent", "api"])
def test_the_cli_takes_a_role(argv: list[str], role: str) -> None:
    assert _parser().parse_args(argv).role == role


def test_the_cli_refuses_a_role_it_does_not_know() -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["certs", "issue", "x", "--role", "root"])


@pytest.mark.parametrize(("context", "role", "refusal"), [
    ({"peer_uri": [b"urn:cellrouter:role:agent"], "x509_common_name": [b"lb-1"]}, "agent", ""),
    ({"peer_uri": [b"urn:cellrouter:role:cell"], "x509_common_name": [b"lb-1"]}, "agent",
     "certificate of lb-1 is for role cell, not agent: it may not report"),
    ({"x509_common_name": [b"lb-1"]}, "agent",
     "certificate of lb-1 carries no cellrouter role (urn:cellrouter:role:...); reissue it"
     " with `cellrouter certs issue --role agent` to report"),
    ({"peer_uri": [b"https://example.net/", b"urn:cellrouter:role:cell"]}, "cell", ""),
], ids=["agent", "a-cell-as-agent", "no-role", "among-other-uris"])
def test_the_role_comes_from_the_peers_role_uri(
        context: dict[str, list[bytes]], role: str, refusal: str) -> None:
    if not refusal:
        require_role(context, role, "report")
        assert peer_role(context) == role
        return
    with pytest.raises(PermissionDenied) as refused:
        require_role(context, role, "report")
    assert refused.value.message == refusal


@pytest.mark.parametrize(("patterns", "name", "admitted"), [
    (None, "anything", True),
    ((), "eu-a", False),
    (("eu-a", "us-*"), "eu-a", True),
    (("eu-a", "us-*"), "us-east", True),
    (("eu-a", "us-*"), "eu-b", False),
    (("eu-?",), "EU-A", False),  # names are lowercase; patterns match case and all
], ids=["absent", "empty", "exact", "pattern", "neither", "case"])
def test_a_name_rule_admits_what_its_patterns_match(
        patterns: tuple[str, ...] | None, name: str, admitted: bool) -> None:
    assert NameRule.children(patterns).admits(name) is admitted


def test_a_refusal_names_the_child_and_the_rule() -> None:
    with pytest.raises(PermissionDenied) as refused:
        NameRule.children(("eu-a", "us-*")).check("eu-b", "top")
    assert refused.value.message == ('child eu-b is not allowed at top: it matches none of'
                                     ' [cell] children = ["eu-a", "us-*"] in top\'s config')


BASE = {"cell": {"name": "top", "listen": "127.0.0.1:1", "insecure": True}}


def test_a_config_reads_children_and_allowed_agents() -> None:
    absent = from_mapping(BASE)
    assert (absent.children, absent.agent_ids) == (None, None)
    given = from_mapping({"cell": {**BASE["cell"], "children": ["eu-*"]},
                          "agents": {"allowed": ["lb-1", "lb-*"]}})
    assert (given.children, given.agent_ids) == (("eu-*",), ("lb-1", "lb-*"))
    assert from_mapping({"cell": {**BASE["cell"], "children": []}}).children == ()


@pytest.mark.parametrize(("table", "key", "value"), [
    ("cell", "children", "eu-a"), ("cell", "children", [""]),
    ("agents", "allowed", [1]),
], ids=["not-a-list", "empty-name", "not-strings"])
def test_bad_children_or_allowed_are_refused(table: str, key: str, value: object) -> None:
    data: dict[str, dict[str, object]] = {"cell": dict(BASE["cell"]), "agents": {}}
    data[table][key] = value
    with pytest.raises(ConfigError, match=f"{key} must be a list of names or patterns"):
        from_mapping(data)


TREE = """
[tree]
tls = true

[cells.top]
[cells.eu]
parent = "top"
[cells.us]
parent = "top"
[cells.eu-a]
parent = "eu"
driver = "fake"
hosts = []
[cells.us-a]
parent = "us"
driver = "fake"
hosts = []

[[agents]]
cell = "eu-a"
id = "lb-1"
kind = "loadbalancer"
[[agents]]
cell = "eu-a"
id = "lb-2"
kind = "loadbalancer"
"""


def written(tmp_path: Path, text: str = TREE) -> dict[str, dict[str, Any]]:
    """Each cell's config as the tree runner writes it, read back."""
    (tmp_path / "tree.toml").write_text(text)
    spec = load_tree(tmp_path / "tree.toml", {})
    configs = {}
    for cell in spec.cells:
        text = cell_config(spec, cell, "127.0.0.1:1", "", tmp_path / cell.name,
                           Security(certs=tmp_path))
        from_mapping(tomllib.loads(text))  # a cell reads it
        configs[cell.name] = tomllib.loads(text)
    return configs


def test_the_runner_writes_each_routers_children_and_each_leafs_agents(tmp_path: Path) -> None:
    configs = written(tmp_path)
    assert {name: c["cell"].get("children") for name, c in configs.items()} == {
        "top": ["eu", "us"], "eu": ["eu-a"], "us": ["us-a"], "eu-a": None, "us-a": None}
    assert configs["eu-a"]["agents"] == {"allowed": ["lb-1", "lb-2"]}
    assert "agents" not in configs["us-a"]  # no [[agents]] there: any id, with its role


def test_a_leafs_own_allowed_agents_win(tmp_path: Path) -> None:
    own = TREE.replace('hosts = []\n[cells.us-a]',
                       'hosts = []\nagents = { allowed = ["lb-*"] }\n[cells.us-a]')
    assert written(tmp_path, own)["eu-a"]["agents"] == {"allowed": ["lb-*"]}


def test_a_cells_own_children_key_is_refused_the_tree_decides(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown keys children"):
        written(tmp_path, TREE.replace('[cells.eu]\n', '[cells.eu]\nchildren = ["x"]\n'))


def test_an_agent_may_not_share_a_cells_name(tmp_path: Path) -> None:
    (tmp_path / "tree.toml").write_text(TREE.replace('id = "lb-2"', 'id = "us"'))
    with pytest.raises(ConfigError, match="agent ids us are also cell names"):
        load_tree(tmp_path / "tree.toml", {})
