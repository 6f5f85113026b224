"""A subnet's host routes, description, gateway and pools: kept as Neutron
keeps them, checked as it checks them, and changed as it lets them change
(new pools drained into IPAM less what is allocated)."""

from __future__ import annotations

from typing import Any

import pytest

from network.errors import Conflict, InvalidInput
from network.resources import (
    AllocationPool,
    Caller,
    Changes,
    HostRoute,
    IpRequest,
    NetworkSpec,
    PortSpec,
    SubnetSpec,
)
from network.service import NetworkService

SHOP = Caller("shop")
ROUTE = HostRoute("10.20.0.0/32", "10.100.1.1")


def subnet_of(service: NetworkService, **fields: Any) -> tuple[str, str]:
    net = service.networks.create(SHOP, NetworkSpec())
    made = service.subnets.create(SHOP, SubnetSpec(net.id, "10.0.0.0/28", **fields))
    return net.id, made.id


def test_host_routes_and_description_are_kept(any_service: NetworkService) -> None:
    _, ident = subnet_of(any_service, host_routes=(ROUTE,), description="d1",
                         dns_nameservers=("8.8.4.4", "8.8.8.8"))
    shown = any_service.subnets.show(SHOP, ident)
    assert (shown.host_routes, shown.description) == ((ROUTE,), "d1")
    new = HostRoute("10.20.0.0/32", "10.100.1.2")
    changed = any_service.subnets.update(SHOP, ident, Changes({
        "host_routes": (new,), "description": "d2", "dns_nameservers": ("7.8.8.8",),
        "name": "renamed"}))
    assert (changed.host_routes, changed.description, changed.dns_nameservers,
            changed.name) == ((new,), "d2", ("7.8.8.8",), "renamed")


@pytest.mark.parametrize("routes", [
    pytest.param((HostRoute("10.20.0.1/24", "10.0.0.1"),), id="host-bits"),
    pytest.param((HostRoute("2001::/64", "10.0.0.1"),), id="another-version"),
    pytest.param((HostRoute("10.20.0.0/24", "nowhere"),), id="no-nexthop"),
    pytest.param((ROUTE, ROUTE), id="twice"),
])
def test_bad_host_routes_are_refused(service: NetworkService,
                                     routes: tuple[HostRoute, ...]) -> None:
    with pytest.raises(InvalidInput):
        subnet_of(service, host_routes=routes)


def test_the_gateway_moves_out_of_the_pools_only(service: NetworkService) -> None:
    _, ident = subnet_of(service, gateway_ip="10.0.0.1",
                         allocation_pools=(AllocationPool("10.0.0.3", "10.0.0.7"),))
    assert service.subnets.update(SHOP, ident, Changes({"gateway_ip": "10.0.0.2"})
                                  ).gateway_ip == "10.0.0.2"
    with pytest.raises(InvalidInput, match="conflicts with allocation pool"):
        service.subnets.update(SHOP, ident, Changes({"gateway_ip": "10.0.0.4"}))
    with pytest.raises(InvalidInput, match="not in subnet"):
        service.subnets.update(SHOP, ident, Changes({"gateway_ip": "10.9.0.1"}))
    assert service.subnets.update(SHOP, ident, Changes({"gateway_ip": None})).gateway_ip is None


def test_a_ports_address_is_no_gateway(service: NetworkService) -> None:
    net, ident = subnet_of(service, allocation_pools=(AllocationPool("10.0.0.3", "10.0.0.7"),))
    service.ports.create(SHOP, PortSpec(net, fixed_ips=(IpRequest(ident, "10.0.0.9"),)))
    with pytest.raises(Conflict) as refused:
        service.subnets.update(SHOP, ident, Changes({"gateway_ip": "10.0.0.9"}))
    assert refused.value.kind == "GatewayIpInUse"


def test_new_pools_are_allocated_from_less_what_is_held(any_service: NetworkService) -> None:
    net, ident = subnet_of(any_service)  # pools 10.0.0.2-14, gateway .1
    held = any_service.ports.create(SHOP, PortSpec(net)).fixed_ips[0].ip_address
    assert held == "10.0.0.2"
    pools = (AllocationPool("10.0.0.2", "10.0.0.3"), AllocationPool("10.0.0.10", "10.0.0.10"))
    changed = any_service.subnets.update(SHOP, ident, Changes({"allocation_pools": pools}))
    assert changed.allocation_pools == pools
    assert any_service.subnets.free_pools(SHOP, ident).allocation_pools == (
        AllocationPool("10.0.0.3", "10.0.0.3"), AllocationPool("10.0.0.10", "10.0.0.10"))
    got = {any_service.ports.create(SHOP, PortSpec(net)).fixed_ips[0].ip_address
           for _ in range(2)}
    assert got == {"10.0.0.3", "10.0.0.10"}
    with pytest.raises(InvalidInput, match="spans beyond"):
        any_service.subnets.update(SHOP, ident, Changes({
            "allocation_pools": (AllocationPool("10.0.0.2", "10.0.0.20"),)}))
