"""Routers through the Networking API, kept as records: openstacksdk makes,
lists, updates and deletes routers and adds and removes interfaces, whose
ports list by the router's id as their device_id; the codes and error types
are Neutron's (raw requests). Nothing routes: no agent forwards between a
router's subnets, and the `router` extension is not listed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.test_api_networking import V2, Neutron, error, make, neutron  # noqa: F401
from tests.unit.api.test_api_networking_sdk import base, connect  # noqa: F401

openstack = pytest.importorskip("openstack", reason="openstacksdk is not installed")
exceptions = pytest.importorskip("openstack.exceptions")


def test_a_router_and_its_interfaces_through_openstacksdk(base: str) -> None:  # noqa: F811
    conn: Any = connect(base, "alice")
    net = conn.network.create_network(name="routed")
    subnet = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.7.0.0/24")
    router = conn.network.create_router(name="edge", description="records only")
    assert (router.status, router.external_gateway_info, router.is_admin_state_up) == (
        "ACTIVE", None, True)
    added = conn.network.add_interface_to_router(router, subnet=subnet.id)
    assert (added["id"], added["subnet_id"], added["network_id"]) == (
        router.id, subnet.id, net.id)
    [port] = conn.network.ports(device_id=router.id)
    assert (port.id, port.device_owner, port.fixed_ips[0]["ip_address"]) == (
        added["port_id"], "network:router_interface", "10.7.0.1")
    own = conn.network.create_port(network_id=net.id)
    other = conn.network.create_router(name="second")
    conn.network.add_interface_to_router(other, port=own.id)
    assert [p.id for p in conn.network.ports(device_id=other.id)] == [own.id]
    with pytest.raises(exceptions.ConflictException, match="still has ports"):
        conn.network.delete_router(router)
    bob: Any = connect(base, "bob")
    assert list(bob.network.routers()) == [] and len(list(conn.network.routers())) == 2
    changed = conn.network.update_router(router, name="core")
    assert conn.network.find_router("core").id == changed.id == router.id
    conn.network.remove_interface_from_router(router, subnet=subnet.id)
    conn.network.remove_interface_from_router(other, port=own.id)
    assert list(conn.network.ports(network_id=net.id)) == []
    for each in (router, other):
        conn.network.delete_router(each)
    conn.network.delete_network(net)


def test_neutrons_codes_and_bodies(neutron: Neutron) -> None:  # noqa: F811
    net = make(neutron, "alice", "network", name="n")
    subnet = make(neutron, "alice", "subnet", network_id=net["id"], cidr="10.8.0.0/24",
                  ip_version=4)
    status, body = neutron("alice", "POST", f"{V2}/routers",
                           {"router": {"name": "r", "admin_state_up": False,
                                       "external_gateway_info": {}}})
    assert status == 201 and body["router"]["admin_state_up"] is False
    router = body["router"]
    assert {"id", "name", "tenant_id", "project_id", "admin_state_up", "status",
            "external_gateway_info", "description", "created_at", "updated_at"} <= set(router)
    act = f"{V2}/routers/{router['id']}"
    status, body = neutron("alice", "PUT", f"{act}/add_router_interface",
                           {"subnet_id": subnet["id"]})
    assert status == 200 and set(body) == {"id", "tenant_id", "project_id", "port_id",
                                           "network_id", "subnet_id", "subnet_ids"}
    port_id = body["port_id"]
    refusals = [
        ("PUT", f"{act}/add_router_interface", {}, 400, "BadRequest"),
        ("PUT", f"{act}/add_router_interface", {"subnet_id": subnet["id"], "port_id": "x"},
         400, "BadRequest"),
        ("PUT", f"{act}/add_router_interface", {"subnet_id": subnet["id"]}, 400,
         "BadRequest"),
        ("PUT", f"{act}/remove_router_interface", {"port_id": "nope"}, 404,
         "RouterInterfaceNotFound"),
        ("PUT", f"{V2}/routers/nope/add_router_interface", {"subnet_id": subnet["id"]},
         404, "RouterNotFound"),
        ("DELETE", act, None, 409, "RouterInUse"),
        ("DELETE", f"{V2}/ports/{port_id}", None, 409, "L3PortInUse"),
        ("POST", f"{V2}/routers", {"router": {"external_gateway_info": {
            "network_id": net["id"]}}}, 400, "BadRequest"),
    ]
    for method, path, sent, code, kind in refusals:
        status, body = neutron("alice", method, path, sent)
        assert (status, error(body)[0]) == (code, kind), (method, path, sent)
    status, body = neutron("bob", "GET", act)
    assert status == 404 and error(body)[0] == "RouterNotFound"
    second = neutron("alice", "POST", f"{V2}/routers", {"router": {"name": "s"}})[1]["router"]
    status, body = neutron("alice", "PUT",
                           f"{V2}/routers/{second['id']}/add_router_interface",
                           {"subnet_id": subnet["id"]})
    assert status == 409 and error(body)[0] == "IpAddressAlreadyAllocated"
    status, body = neutron("alice", "PUT", f"{act}/remove_router_interface",
                           {"port_id": port_id})
    assert (status, body["port_id"], body["subnet_ids"]) == (200, port_id, [subnet["id"]])
    assert neutron("alice", "DELETE", act)[0] == 204
    aliases = {e["alias"] for e in neutron("alice", "GET", f"{V2}/extensions")[1]["extensions"]}
    assert "router" not in aliases
