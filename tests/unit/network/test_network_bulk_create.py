"""Neutron's bulk create in the service: several networks, subnets or ports in
one transaction, all made or, when one is refused, none (nor their addresses)."""

from __future__ import annotations

import pytest

from network.errors import InvalidInput, IpAddressAlreadyAllocated, NotAuthorized, NotFound
from network.resources import (
    Caller,
    IpRequest,
    ListQuery,
    NetworkSpec,
    PortSpec,
    SubnetSpec,
)
from network.service import NetworkService

SHOP = Caller("shop")


def test_networks_are_made_together(any_service: NetworkService) -> None:
    made = any_service.networks.create_many(
        SHOP, [NetworkSpec(name="a", description="first"), NetworkSpec(name="b")])
    assert [n.name for n in made] == ["a", "b"]
    assert made[0].segmentation_id != made[1].segmentation_id  # the second saw the first
    listed = {n.id: n for n in any_service.networks.list(SHOP, ListQuery())}
    assert listed[made[0].id].description == "first" and made[1].id in listed


def test_a_network_refused_makes_none(any_service: NetworkService) -> None:
    with pytest.raises(NotAuthorized):
        any_service.networks.create_many(SHOP, [
            NetworkSpec(name="ok"), NetworkSpec(name="bad", project="lab")])
    assert any_service.networks.list(SHOP, ListQuery()) == []


def test_subnets_are_made_together_or_not_at_all(any_service: NetworkService) -> None:
    one, two = (any_service.networks.create(SHOP, NetworkSpec()) for _ in range(2))
    made = any_service.subnets.create_many(SHOP, [
        SubnetSpec(one.id, "10.0.0.0/24", name="a"), SubnetSpec(two.id, "10.0.1.0/24")])
    assert [s.cidr for s in made] == ["10.0.0.0/24", "10.0.1.0/24"]
    with pytest.raises(InvalidInput, match="overlaps"):
        any_service.subnets.create_many(SHOP, [
            SubnetSpec(one.id, "10.0.2.0/24"), SubnetSpec(one.id, "10.0.2.0/25")])
    assert sorted(s.cidr for s in any_service.subnets.list(SHOP, ListQuery())) == [
        "10.0.0.0/24", "10.0.1.0/24"]


def test_ports_are_made_together_and_a_refusal_gives_their_addresses_back(
        any_service: NetworkService) -> None:
    net = any_service.networks.create(SHOP, NetworkSpec())
    other = any_service.networks.create(SHOP, NetworkSpec())
    subnet = any_service.subnets.create(SHOP, SubnetSpec(net.id, "10.0.0.0/29"))
    made = any_service.ports.create_many(SHOP, [
        PortSpec(net.id, name="a", description="mine"), PortSpec(other.id, name="b")])
    assert [p.network_id for p in made] == [net.id, other.id]
    assert made[0].fixed_ips[0].ip_address == "10.0.0.2" and made[1].fixed_ips == ()
    assert made[0].description == "mine"
    with pytest.raises(IpAddressAlreadyAllocated):
        any_service.ports.create_many(SHOP, [
            PortSpec(net.id, fixed_ips=(IpRequest(subnet.id, "10.0.0.5"),)),
            PortSpec(net.id, fixed_ips=(IpRequest(subnet.id, "10.0.0.5"),))])
    with pytest.raises(NotFound):
        any_service.ports.create_many(SHOP, [PortSpec(net.id), PortSpec("no-such-network")])
    assert len(any_service.ports.list(SHOP, ListQuery())) == 2
    # Nothing of the refused ones is held: the next address is the one after "a"'s.
    assert any_service.ports.create(SHOP, PortSpec(net.id)).fixed_ips[0].ip_address == \
        "10.0.0.3"
    port = any_service.ports.create(SHOP, PortSpec(
        net.id, fixed_ips=(IpRequest(subnet.id, "10.0.0.5"),)))
    assert port.fixed_ips[0].ip_address == "10.0.0.5"
