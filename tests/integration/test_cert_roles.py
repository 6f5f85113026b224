"""A certificate grants only its role (issue 22): a router takes as children
only the cells its config names, with cell certificates, and a leaf hears
only the agents it lists, each with an agent certificate naming it. Real
cell processes under mutual TLS, certificates from the tree's own CA."""

from __future__ import annotations

import asyncio
import datetime
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cellops import certs
from cellops.tree import TreeRunner
from cellrouter.v1 import cells_pb2 as pb
from cellwire.agents import AgentsClient
from cellwire.tls import TlsConfig
from model.agents import AgentReport
from model.errors import PermissionDenied
from tests.integration.conftest import eventually, start_tree
from tests.integration.test_security import assert_r1_unchanged, cells_stub

TREE = """
[tree]
tls = true
report_interval = 0.2
down_after = 3

[cells.top]
[cells.r1]
parent = "top"

[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{ name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]

[[agents]]
cell = "z1"
id = "lb-1"
kind = "loadbalancer"
capabilities = ["haproxy"]
"""
PATHS = {"top", "top!r1", "top!r1!z1"}
T = TypeVar("T")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_tree(tmp_path_factory.mktemp("roles"), TREE)
    assert eventually(lambda: agent_ids(runner) == ["lb-1"], timeout=30)
    yield runner
    runner.stop()


@pytest.fixture
def same_ca(tree: TreeRunner, tmp_path: Path) -> Path:
    """A directory with the tree's CA, to issue certificates under names the
    tree's own certificates have (without overwriting them)."""
    assert tree.certs is not None
    for name in ("ca.pem", "ca.key"):
        shutil.copy(tree.certs / name, tmp_path / name)
    return tmp_path


def ask(runner: TreeRunner, cert_dir: Path, name: str,
        what: Callable[[AgentsClient], Awaitable[T]]) -> T:
    """`what` asked of the leaf z1 over mutual TLS, with NAME's certificate in `cert_dir`."""
    tls = TlsConfig(cert_dir / "ca.pem", cert_dir / f"{name}.pem", cert_dir / f"{name}.key")

    async def run() -> T:
        client = AgentsClient(runner.addresses["z1"], tls=tls.load(), peer_name="z1")
        try:
            return await what(client)
        finally:
            await client.close()
    return asyncio.run(run())


def agent_ids(runner: TreeRunner) -> list[str]:
    assert runner.certs is not None
    return [a.id for a, _ in ask(runner, runner.certs, "top", lambda c: c.agents())]


def register(runner: TreeRunner, cert_dir: Path, name: str, as_cell: str) -> grpc.RpcError:
    """The error the top answers NAME's certificate registering as `as_cell`."""
    channel, _, parent = cells_stub(runner, "top", cert_dir, name, "top")
    with channel, pytest.raises(grpc.RpcError) as refused:
        parent.Register(pb.RegisterRequest(name=as_cell, address="127.0.0.1:1",
                                           kind=pb.CELL_KIND_ROUTER), timeout=5)
    return refused.value


def report(runner: TreeRunner, cert_dir: Path, name: str, as_agent: str) -> None:
    ask(runner, cert_dir, name, lambda c: c.report(
        AgentReport(as_agent, "host-x", "loadbalancer", ("haproxy",))))


def denied(error: grpc.RpcError) -> str:
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED, error
    return error.details() or ""


def test_the_runner_names_each_routers_children_and_each_leafs_agents(
        tree: TreeRunner) -> None:
    assert tree.certs is not None
    assert 'children = ["r1"]' in (tree.state_dir / "top" / "cell.toml").read_text()
    assert 'allowed = ["lb-1"]' in (tree.state_dir / "z1" / "cell.toml").read_text()
    # Its agent reports over mutual TLS, with an agent's certificate (see the fixture).
    assert certs.role_of(tree.certs / "lb-1.pem") == "agent"
    assert certs.role_of(tree.certs / "r1.pem") == "cell"


def test_an_agent_certificate_cannot_register_as_a_cell(tree: TreeRunner,
                                                        same_ca: Path) -> None:
    assert tree.certs is not None
    # The tree's own agent, as itself: a name the top does not list, and no cell.
    assert "certificate of lb-1 is for role agent, not cell" in denied(
        register(tree, tree.certs, "lb-1", "lb-1"))
    # An agent certificate that bears a real child's name is still no cell's.
    certs.issue(same_ca, "r1", role="agent")
    assert "certificate of r1 is for role agent, not cell: it may not speak for cell r1" in (
        denied(register(tree, same_ca, "r1", "r1")))
    channel, _, parent = cells_stub(tree, "top", same_ca, "r1", "top")
    with channel, pytest.raises(grpc.RpcError) as refused:
        parent.Report(pb.ReportRequest(name="r1"), timeout=5)
    assert "is for role agent, not cell" in denied(refused.value)
    assert_r1_unchanged(tree)


def test_a_child_the_router_does_not_name_is_refused(tree: TreeRunner) -> None:
    assert tree.certs is not None
    certs.issue(tree.certs, "r9")  # a genuine cell certificate, of a cell not in the tree
    message = denied(register(tree, tree.certs, "r9", "r9"))
    assert 'child r9 is not allowed at top: it matches none of [cell] children = ["r1"]' in (
        message)
    with tree.client() as admin:
        assert {n.path for n in admin.topology().walk()} == PATHS
    assert_r1_unchanged(tree)


def test_a_cell_certificate_cannot_report_as_an_agent(tree: TreeRunner, same_ca: Path) -> None:
    assert tree.certs is not None
    certs.issue(same_ca, "lb-1")  # a cell's certificate, in the listed agent's name
    with pytest.raises(PermissionDenied, match="certificate of lb-1 is for role cell, not"
                                               " agent: it may not speak for agent lb-1"):
        report(tree, same_ca, "lb-1", "lb-1")
    with pytest.raises(PermissionDenied, match="certificate of r1 is for role cell"):
        report(tree, tree.certs, "r1", "r1")  # a real cell of the tree
    assert agent_ids(tree) == ["lb-1"]


def test_an_agent_speaks_for_itself_only_and_only_where_listed(tree: TreeRunner) -> None:
    assert tree.certs is not None
    with pytest.raises(PermissionDenied, match="a certificate for lb-1 may not speak for"
                                               " agent lb-2"):
        report(tree, tree.certs, "lb-1", "lb-2")
    certs.issue(tree.certs, "lb-9", role="agent")  # a genuine agent, not z1's
    with pytest.raises(PermissionDenied, match=r'agent lb-9 is not allowed at top!r1!z1: it'
                                               r' matches none of \[agents\] allowed = \["lb-1"\]'):
        report(tree, tree.certs, "lb-9", "lb-9")
    assert agent_ids(tree) == ["lb-1"]


def test_a_certificate_without_a_role_is_refused_with_the_way_to_mend_it(
        tree: TreeRunner, same_ca: Path) -> None:
    roleless(same_ca, "r1")
    assert ("certificate of r1 carries no cellrouter role (urn:cellrouter:role:...); reissue it"
            " with `cellrouter certs issue --role cell`") in denied(
        register(tree, same_ca, "r1", "r1"))
    roleless(same_ca, "lb-1")
    with pytest.raises(PermissionDenied, match=r"certificate of lb-1 carries no cellrouter role"
                                               r" .*`cellrouter certs issue --role agent`"):
        report(tree, same_ca, "lb-1", "lb-1")
    assert_r1_unchanged(tree)
    assert agent_ids(tree) == ["lb-1"]


def roleless(directory: Path, name: str) -> None:
    """NAME.pem and NAME.key as `cellrouter certs issue` made them before roles."""
    ca_cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(name), x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
