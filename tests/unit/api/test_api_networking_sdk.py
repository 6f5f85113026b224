"""openstacksdk's network proxy against the API in-process (on a real port):
it finds `network` in the catalog, appends /v2.0, and makes, lists, pages and
deletes networks, subnets and ports; a member never sees another project's."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from aiohttp import web

from api.app import build_app
from api.config import ApiConfig
from api.identity.keys import KeyRepository
from api.identity.users import UserStore
from tests.unit.api.apiapp import FakeTop

openstack = pytest.importorskip("openstack", reason="openstacksdk is not installed")
exceptions = pytest.importorskip("openstack.exceptions")
USERS = {"alice": ("shop", "member"), "bob": ("lab", "member"), "root": ("ops", "admin")}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API on a free port of 127.0.0.1 (its links name that port)."""
    tmp = tmp_path_factory.mktemp("networking-sdk")
    KeyRepository(tmp / "keys").init()
    users = UserStore(tmp / "users.json")
    for name, (project, role) in USERS.items():
        users.add(name, project, role, f"{name}-password")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = ApiConfig(listen=f"127.0.0.1:{port}", top="127.0.0.1:1",
                       users_file=tmp / "users.json", keys_dir=tmp / "keys")
    yield from _serving(build_app(config, tree=FakeTop()), port)  # type: ignore[arg-type]


def _serving(app: web.Application, port: int) -> Iterator[str]:
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, name="networking-sdk-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def connect(base: str, user: str) -> object:
    project, _ = USERS[user]
    return openstack.connect(
        auth_url=f"{base}/identity", username=user, password=f"{user}-password",
        project_name=project, user_domain_name="Default", project_domain_name="Default",
        region_name="RegionOne")


def test_a_network_subnet_and_port_made_listed_and_deleted(base: str) -> None:
    conn = connect(base, "alice")
    net = conn.network.create_network(name="web")
    subnet = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.1.0.0/24",
                                        name="web-v4")
    port = conn.network.create_port(network_id=net.id, name="web-1")
    assert (subnet.gateway_ip, port.fixed_ips[0]["ip_address"]) == ("10.1.0.1", "10.1.0.2")
    assert port.mac_address.startswith("fa:16:3e:") and port.status == "DOWN"
    assert [n.name for n in conn.network.networks(name="web")] == ["web"]
    assert [p.id for p in conn.network.ports(network_id=net.id)] == [port.id]
    assert conn.network.get_network(net.id).subnet_ids == [subnet.id]
    assert conn.network.find_network("web").id == net.id
    with pytest.raises(exceptions.ConflictException):
        conn.network.delete_network(net)
    conn.network.delete_port(port)
    conn.network.delete_subnet(subnet)
    conn.network.delete_network(net)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_network(net.id)


def test_a_member_does_not_see_another_projects_network(base: str) -> None:
    alice, bob, root = (connect(base, u) for u in ("alice", "bob", "root"))
    hers = alice.network.create_network(name="private-to-shop")
    shared = root.network.create_network(name="public", shared=True)
    seen = {n.id for n in bob.network.networks()}
    assert hers.id not in seen and shared.id in seen
    with pytest.raises(exceptions.NotFoundException):
        bob.network.get_network(hers.id)
    assert bob.network.find_network("private-to-shop") is None
    assert hers.id in {n.id for n in root.network.networks()}
    root.network.delete_network(shared)
    alice.network.delete_network(hers)


def test_an_exhausted_subnet_and_a_taken_address_are_conflicts(base: str) -> None:
    conn = connect(base, "alice")
    net = conn.network.create_network(name="tiny")
    subnet = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.2.0.0/30")
    conn.network.create_port(network_id=net.id)
    with pytest.raises(exceptions.ConflictException, match="No more IP addresses available"):
        conn.network.create_port(network_id=net.id)
    with pytest.raises(exceptions.ConflictException, match="already allocated in subnet"):
        conn.network.create_port(network_id=net.id, fixed_ips=[
            {"subnet_id": subnet.id, "ip_address": "10.2.0.2"}])


def test_lists_page_through_the_links(base: str) -> None:
    conn = connect(base, "bob")
    made = {conn.network.create_network(name=f"paged-{i}").id for i in range(5)}
    pages = list(conn.network.networks(limit=2, name=[f"paged-{i}" for i in range(5)]))
    assert {n.id for n in pages} == made
