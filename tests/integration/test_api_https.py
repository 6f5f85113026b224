"""The API process of a tree with TLS serves HTTPS with a certificate from the
tree's CA: unmodified OpenStack clients (openstacksdk, the `openstack` CLI with
the openrc's OS_CACERT) work, a client that does not trust the CA is refused,
and plain HTTP on the port gets no API answer. One tree serves the module."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit

import keystoneauth1.exceptions
import openstack
import openstack.connection
import pytest
import requests
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from cellops.tree import TreeRunner
from tests.integration.openstack_tree import (
    API_TREE,
    IMAGE_ID,
    OPENSTACK,
    start_api_tree,
)

TLS_TREE = API_TREE.replace("insecure = true", "tls = true", 1)  # tokens come with it


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_api_tree(tmp_path_factory.mktemp("api-https"), TLS_TREE)
    yield runner
    runner.stop()


def openrc(tree: TreeRunner) -> dict[str, str]:
    """The variables `cellrouter up` wrote for the admin user, as a shell would read them."""
    assert tree.api is not None
    text = (tree.api.directory / "openrc").read_text()
    return dict(line.removeprefix("export ").split("=", 1) for line in text.splitlines())


def connect(tree: TreeRunner, cacert: str | None = None) -> openstack.connection.Connection:
    """openstacksdk as the admin user; without `cacert`, trusting the system's CAs only."""
    env = openrc(tree)
    return openstack.connect(
        auth_url=env["OS_AUTH_URL"], username=env["OS_USERNAME"], password=env["OS_PASSWORD"],
        project_name=env["OS_PROJECT_NAME"], user_domain_name="Default",
        project_domain_name="Default", region_name="RegionOne", cacert=cacert)


def address(tree: TreeRunner) -> tuple[str, int]:
    assert tree.api is not None
    url = urlsplit(tree.api.url)
    assert url.hostname is not None and url.port is not None
    return url.hostname, url.port


def test_the_api_serves_https_with_an_api_certificate_of_the_trees_ca(tree: TreeRunner) -> None:
    assert tree.api is not None and tree.certs is not None
    env = openrc(tree)
    assert tree.api.url.startswith("https://")
    assert env["OS_AUTH_URL"] == f"{tree.api.url}/identity"
    assert env["OS_CACERT"] == str(tree.certs / "ca.pem")
    assert "\n[tls]\n" in (tree.api.directory / "api.toml").read_text()
    context = ssl.create_default_context(cafile=env["OS_CACERT"])
    with socket.create_connection(address(tree), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=address(tree)[0]) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    cert = x509.load_der_x509_certificate(der)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "urn:cellrouter:role:api" in sans.get_values_for_type(x509.UniformResourceIdentifier)
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]  # it serves, and only that


def test_openstacksdk_with_the_ca_lists_and_boots(tree: TreeRunner) -> None:
    assert tree.api is not None
    conn = connect(tree, cacert=openrc(tree)["OS_CACERT"])
    assert [conn.endpoint_for(kind) for kind in ("compute", "image", "identity")] == [
        f"{tree.api.url}/{path}" for path in ("v2.1", "image", "identity")]  # the catalog's
    assert all(s.name != "https-1" for s in conn.compute.servers())
    made = conn.compute.create_server(name="https-1", flavor_id="small", image_id=IMAGE_ID,
                                      networks="none")
    made = conn.compute.wait_for_server(made, status="ACTIVE", wait=120)
    assert made.id in {s.id for s in conn.compute.servers()}
    conn.compute.delete_server(made)
    conn.compute.wait_for_delete(made, wait=120)


def cli(tree: TreeRunner, *args: str, cacert: bool = True) -> subprocess.CompletedProcess[str]:
    """`openstack ARGS...` with the openrc's variables (and no others of its kind)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")} | openrc(tree)
    if not cacert:
        env.pop("OS_CACERT")
    return subprocess.run([OPENSTACK, *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_cli_with_the_openrc_lists_servers(tree: TreeRunner) -> None:
    listed = cli(tree, "server", "list", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip().startswith("[")
    refused = cli(tree, "server", "list", "-f", "json", cacert=False)
    assert refused.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr


def test_a_client_without_the_ca_fails_verification(tree: TreeRunner) -> None:
    assert tree.api is not None
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(f"{tree.api.url}/", timeout=10)  # the system's CAs only
    with pytest.raises(keystoneauth1.exceptions.DiscoveryFailure,  # its SSLError, wrapped
                       match=r"SSL exception .* CERTIFICATE_VERIFY_FAILED"):
        list(connect(tree).compute.servers())


def test_plain_http_on_the_https_port_gets_no_api_answer(tree: TreeRunner) -> None:
    host, port = address(tree)
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
                    .encode())
        answer = b""
        while chunk := raw.recv(65536):  # until the server closes
            answer += chunk
    assert not answer.startswith(b"HTTP/")
    assert b"x-openstack-request-id" not in answer.lower() and b"versions" not in answer

