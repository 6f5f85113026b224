"""Neutron's bulk creates, a subnet's every attribute, a port's fixed IPs
changed and filtered, and descriptions, over HTTP as Tempest sends them (and
openstacksdk's bulk port create)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.test_api_networking import V2, Neutron, error, make, neutron
from tests.unit.api.test_api_networking_sdk import base, connect

__all__ = ["base", "neutron"]  # the fixtures, used by name


def test_bulk_creates_answer_the_plural_list(neutron: Neutron) -> None:
    status, body = neutron("alice", "POST", f"{V2}/networks",
                           {"networks": [{"name": "one"}, {"name": "two", "description": "2"}]})
    assert status == 201 and [n["name"] for n in body["networks"]] == ["one", "two"]
    one, two = body["networks"]
    assert two["description"] == "2"
    status, body = neutron("alice", "POST", f"{V2}/subnets", {"subnets": [
        {"network_id": one["id"], "cidr": "10.5.0.0/24", "ip_version": 4, "name": "a"},
        {"network_id": two["id"], "cidr": "10.6.0.0/24", "ip_version": 4}]})
    assert status == 201 and [s["cidr"] for s in body["subnets"]] == ["10.5.0.0/24",
                                                                    "10.6.0.0/24"]
    status, body = neutron("alice", "POST", f"{V2}/ports", {"ports": [
        {"network_id": one["id"], "name": "p", "admin_state_up": True},
        {"network_id": two["id"], "admin_state_up": False}]})
    assert status == 201
    assert [(p["network_id"], p["admin_state_up"]) for p in body["ports"]] == [
        (one["id"], True), (two["id"], False)]


@pytest.mark.parametrize("body", [
    {"networks": []}, {"networks": [{"name": "x", "colour": "red"}]}, {"networks": ["x"]}],
    ids=["empty", "unknown-attribute", "not-objects"])
def test_a_bad_bulk_body_is_400(neutron: Neutron, body: Any) -> None:
    status, answer = neutron("alice", "POST", f"{V2}/networks", body)
    assert status == 400 and error(answer)[0] == "HTTPBadRequest"


def test_a_refused_bulk_create_makes_nothing(neutron: Neutron) -> None:
    net = make(neutron, "alice", "network", name="n")
    status, body = neutron("alice", "POST", f"{V2}/ports", {"ports": [
        {"network_id": net["id"], "name": "kept?"}, {"network_id": "nope"}]})
    assert status == 404 and error(body)[0] == "NetworkNotFound"
    assert neutron("alice", "GET", f"{V2}/ports?name=kept%3F")[1]["ports"] == []


def test_a_subnet_with_every_attribute_and_its_update(neutron: Neutron) -> None:
    net = make(neutron, "alice", "network", name="n")
    subnet = make(neutron, "alice", "subnet", network_id=net["id"], cidr="10.100.0.0/24",
                  ip_version=4, gateway_ip="10.100.0.1", enable_dhcp=True,
                  dns_nameservers=["8.8.4.4", "8.8.8.8"], description="d",
                  host_routes=[{"destination": "10.20.0.0/32", "nexthop": "10.100.1.1"}],
                  allocation_pools=[{"start": "10.100.0.3", "end": "10.100.0.7"}],
                  subnetpool_id=None, ipv6_ra_mode=None, ipv6_address_mode=None)
    assert subnet["host_routes"] == [{"destination": "10.20.0.0/32", "nexthop": "10.100.1.1"}]
    assert subnet["description"] == "d"
    routes = [{"destination": "10.20.0.0/32", "nexthop": "10.100.1.2"}]
    status, body = neutron("alice", "PUT", f"{V2}/subnets/{subnet['id']}", {"subnet": {
        "name": "New_subnet", "host_routes": routes, "dns_nameservers": ["7.8.8.8"],
        "gateway_ip": "10.100.0.2", "enable_dhcp": True,
        "allocation_pools": [{"start": "10.100.0.3", "end": "10.100.0.9"}]}})
    assert status == 200, body
    changed = body["subnet"]
    assert (changed["name"], changed["host_routes"], changed["gateway_ip"],
            changed["allocation_pools"]) == ("New_subnet", routes, "10.100.0.2",
                                             [{"start": "10.100.0.3", "end": "10.100.0.9"}])
    status, body = neutron("alice", "POST", f"{V2}/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.101.0.0/24", "subnetpool_id": "pool"}})
    assert status == 400


def test_a_ports_fixed_ips_change_and_filter(neutron: Neutron) -> None:
    net = make(neutron, "alice", "network", name="n")
    one = make(neutron, "alice", "subnet", network_id=net["id"], cidr="10.7.0.0/24")
    two = make(neutron, "alice", "subnet", network_id=net["id"], cidr="10.8.0.0/24")
    port = make(neutron, "alice", "port", network_id=net["id"], description="p",
                fixed_ips=[{"subnet_id": one["id"]}, {"subnet_id": two["id"]}])
    assert len(port["fixed_ips"]) == 2 and port["description"] == "p"
    path = f"{V2}/ports/{port['id']}"
    status, body = neutron("alice", "PUT", path, {"port": {"fixed_ips": [
        {"subnet_id": one["id"]}]}})
    assert status == 200 and len(body["port"]["fixed_ips"]) == 1
    status, body = neutron("alice", "PUT", path, {"port": {"fixed_ips": [
        {"subnet_id": one["id"]}, {"subnet_id": two["id"], "ip_address": "10.8.0.9"}]}})
    assert status == 200
    assert {ip["ip_address"] for ip in body["port"]["fixed_ips"]} == {"10.7.0.2", "10.8.0.9"}
    for query in ("fixed_ips=ip_address%3D10.8.0.9", f"fixed_ips=subnet_id%3D{two['id']}",
                  "fixed_ips=ip_address_substr%3D8.0."):
        status, body = neutron("alice", "GET", f"{V2}/ports?{query}")
        assert status == 200 and [p["id"] for p in body["ports"]] == [port["id"]], query
    status, body = neutron("alice", "GET", f"{V2}/ports?fixed_ips=mac%3Dx")
    assert status == 400


def test_descriptions_are_kept_and_changed(neutron: Neutron) -> None:
    net = make(neutron, "alice", "network", name="n", description="d1")
    status, body = neutron("alice", "PUT", f"{V2}/networks/{net['id']}",
                           {"network": {"description": "d2"}})
    assert status == 200 and body["network"]["description"] == "d2"
    status, body = neutron("alice", "GET", f"{V2}/networks?id={net['id']}")
    assert body["networks"][0]["description"] == "d2"
    aliases = {e["alias"] for e in neutron("alice", "GET", f"{V2}/extensions")[1]["extensions"]}
    assert {"standard-attr-description", "ip-substring-filtering"} <= aliases


def test_openstacksdk_creates_ports_in_bulk(base: str) -> None:
    conn: Any = connect(base, "alice")
    net = conn.network.create_network(name="bulk")
    conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.9.0.0/24")
    made = list(conn.network.create_ports([{"network_id": net.id, "name": "b1"},
                                           {"network_id": net.id, "name": "b2"}]))
    assert [p.name for p in made] == ["b1", "b2"]
    assert {p.fixed_ips[0]["ip_address"] for p in made} == {"10.9.0.2", "10.9.0.3"}
    for port in made:
        conn.network.delete_port(port)
