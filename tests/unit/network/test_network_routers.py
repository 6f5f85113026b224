"""Routers in the network service, kept as records: made, seen by their
project, changed and deleted; interfaces added by a subnet (a port holding
its gateway IP) or by a port, removed again, and what Neutron refuses about
them. Nothing routes: no agent forwards between a router's subnets, so
nothing here sends traffic; an interface's port stays DOWN."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from network.errors import NetworkError
from network.resources import (
    Caller,
    Changes,
    InterfaceRequest,
    IpRequest,
    ListQuery,
    NetworkSpec,
    PortSpec,
    RouterSpec,
    SubnetSpec,
)
from network.router_ports import ROUTER_INTERFACE
from network.service import NetworkService

SHOP, LAB, ADMIN = Caller("shop"), Caller("lab"), Caller("ops", admin=True)


@dataclass(frozen=True)
class World:
    """One router of shop's, a network with a subnet (10.9.0.0/24), and the
    service they are in."""

    service: NetworkService
    router: str
    network: str
    subnet: str


@pytest.fixture
def world(service: NetworkService) -> World:
    return _world(service)


def _world(service: NetworkService) -> World:
    net = service.networks.create(SHOP, NetworkSpec("inside"))
    subnet = service.subnets.create(SHOP, SubnetSpec(net.id, "10.9.0.0/24"))
    router = service.routers.create(SHOP, RouterSpec("edge", description="the edge"))
    return World(service, router.id, net.id, subnet.id)


def by_device(service: NetworkService, device: str) -> list[str]:
    return [p.id for p in service.ports.list(ADMIN, ListQuery({"device_id": (device,)}))]


def test_a_router_is_its_projects_record(world: World) -> None:
    routers = world.service.routers
    made = routers.show(SHOP, world.router)
    assert (made.name, made.project, made.status, made.admin_state_up, made.description) == (
        "edge", "shop", "ACTIVE", True, "the edge")
    assert [r.id for r in routers.list(SHOP, ListQuery({"name": ("edge",)}))] == [made.id]
    assert routers.list(LAB, ListQuery()) == []
    assert [r.id for r in routers.list(ADMIN, ListQuery())] == [made.id]
    with pytest.raises(NetworkError, match="could not be found") as refused:
        routers.show(LAB, made.id)
    assert refused.value.kind == "RouterNotFound"
    changed = routers.update(SHOP, made.id, Changes({"name": "core",
                                                     "admin_state_up": False}))
    assert (changed.name, changed.admin_state_up) == ("core", False)
    with pytest.raises(NetworkError) as refused:
        routers.delete(LAB, made.id)
    assert refused.value.kind == "RouterNotFound"
    routers.delete(SHOP, made.id)
    assert routers.list(SHOP, ListQuery()) == []


def test_no_router_has_an_external_gateway(world: World) -> None:
    with pytest.raises(NetworkError, match="is not an external network") as refused:
        world.service.routers.create(SHOP, RouterSpec("gw", gateway_network=world.network))
    assert refused.value.kind == "BadRequest"
    with pytest.raises(NetworkError) as refused:
        world.service.routers.update(SHOP, world.router,
                                     Changes({"gateway_network": "no-such-network"}))
    assert refused.value.kind == "NetworkNotFound"


def test_an_interface_by_subnet_is_a_port_holding_the_gateway_ip(world: World) -> None:
    service = world.service
    added = service.routers.add_interface(SHOP, world.router, InterfaceRequest(world.subnet))
    assert (added.router_id, added.network_id, added.subnet_ids, added.project) == (
        world.router, world.network, (world.subnet,), "shop")
    port = service.ports.show(SHOP, added.port_id)
    assert [(ip.subnet_id, ip.ip_address) for ip in port.fixed_ips] == [
        (world.subnet, "10.9.0.1")]
    assert (port.device_id, port.device_owner, port.status.value, port.security_groups) == (
        world.router, ROUTER_INTERFACE, "DOWN", ())
    assert by_device(service, world.router) == [added.port_id]


def test_an_interface_by_port_binds_that_port_to_the_router(world: World) -> None:
    service = world.service
    port = service.ports.create(SHOP, PortSpec(world.network))
    added = service.routers.add_interface(SHOP, world.router,
                                          InterfaceRequest(port_id=port.id))
    assert (added.port_id, added.subnet_ids) == (port.id, (world.subnet,))
    shown = service.ports.show(SHOP, port.id)
    assert (shown.device_id, shown.device_owner) == (world.router, ROUTER_INTERFACE)
    assert by_device(service, world.router) == [port.id]


def test_a_router_with_interfaces_and_their_ports_stay(world: World) -> None:
    service = world.service
    added = service.routers.add_interface(SHOP, world.router, InterfaceRequest(world.subnet))
    with pytest.raises(NetworkError, match="still has ports") as refused:
        service.routers.delete(SHOP, world.router)
    assert refused.value.kind == "RouterInUse"
    with pytest.raises(NetworkError, match="cannot be deleted directly") as refused:
        service.ports.delete(SHOP, added.port_id)
    assert refused.value.kind == "L3PortInUse"
    with pytest.raises(NetworkError) as refused:
        service.networks.delete(SHOP, world.network)
    assert refused.value.kind == "NetworkInUse"


@pytest.mark.parametrize("by", ["port", "subnet"])
def test_removing_an_interface_deletes_its_port_and_frees_the_address(world: World,
                                                                      by: str) -> None:
    service = world.service
    added = service.routers.add_interface(SHOP, world.router, InterfaceRequest(world.subnet))
    asked = (InterfaceRequest(port_id=added.port_id) if by == "port"
             else InterfaceRequest(world.subnet))
    removed = service.routers.remove_interface(SHOP, world.router, asked)
    assert (removed.port_id, removed.subnet_ids) == (added.port_id, (world.subnet,))
    assert by_device(service, world.router) == []
    again = service.ports.create(SHOP, PortSpec(world.network, fixed_ips=(
        IpRequest(world.subnet, "10.9.0.1"),)))
    assert again.fixed_ips[0].ip_address == "10.9.0.1"
    service.ports.delete(SHOP, again.id)
    service.routers.delete(SHOP, world.router)
    service.networks.delete(SHOP, world.network)


def test_removing_one_subnet_of_a_port_with_two_keeps_the_port(world: World) -> None:
    service = world.service
    v6 = service.subnets.create(SHOP, SubnetSpec(world.network, "fd00:9::/64", ip_version=6))
    port = service.ports.create(SHOP, PortSpec(world.network, fixed_ips=(
        IpRequest(world.subnet), IpRequest(v6.id))))
    service.routers.add_interface(SHOP, world.router, InterfaceRequest(port_id=port.id))
    removed = service.routers.remove_interface(SHOP, world.router,
                                               InterfaceRequest(v6.id))
    assert removed.subnet_ids == (v6.id,)
    kept = service.ports.show(SHOP, port.id)
    assert [ip.subnet_id for ip in kept.fixed_ips] == [world.subnet]
    assert kept.device_id == world.router


def _other_network_overlapping(w: World) -> InterfaceRequest:
    w.service.routers.add_interface(SHOP, w.router, InterfaceRequest(w.subnet))
    net = w.service.networks.create(SHOP, NetworkSpec("twin"))
    return InterfaceRequest(w.service.subnets.create(SHOP, SubnetSpec(net.id,
                                                                      "10.9.0.0/25")).id)


def _bound_port(w: World) -> InterfaceRequest:
    port = w.service.ports.create(SHOP, PortSpec(w.network, device_id="a-server"))
    return InterfaceRequest(port_id=port.id)


def _gateway_taken(w: World) -> InterfaceRequest:
    w.service.ports.create(SHOP, PortSpec(w.network, fixed_ips=(IpRequest(w.subnet,
                                                                          "10.9.0.1"),)))
    return InterfaceRequest(w.subnet)


def _no_gateway(w: World) -> InterfaceRequest:
    bare = w.service.subnets.create(SHOP, SubnetSpec(w.network, "10.10.0.0/24",
                                                     gateway_ip=""))
    return InterfaceRequest(bare.id)


def _port_without_ips(w: World) -> InterfaceRequest:
    port = w.service.ports.create(SHOP, PortSpec(w.network, fixed_ips=()))
    return InterfaceRequest(port_id=port.id)


def _lab_subnet(w: World) -> InterfaceRequest:
    net = w.service.networks.create(LAB, NetworkSpec("lab"))
    return InterfaceRequest(w.service.subnets.create(LAB, SubnetSpec(net.id,
                                                                     "10.20.0.0/24")).id)


def _subnet_twice(w: World) -> InterfaceRequest:
    w.service.routers.add_interface(SHOP, w.router, InterfaceRequest(w.subnet))
    return InterfaceRequest(w.subnet)


ADD_REFUSALS: list[tuple[str, Callable[[World], InterfaceRequest], str, str]] = [
    ("neither", lambda w: InterfaceRequest(), "BadRequest", "Either subnet_id or port_id"),
    ("both", lambda w: InterfaceRequest(w.subnet, "p"), "BadRequest", "Cannot specify both"),
    ("subnet-again", _subnet_twice, "BadRequest", "already has a port on subnet"),
    ("overlapping", _other_network_overlapping, "BadRequest", "overlaps with cidr"),
    ("no-gateway", _no_gateway, "BadRequest", "must have a gateway IP"),
    ("port-without-ips", _port_without_ips, "BadRequest", "at least one fixed IP"),
    ("gateway-taken", _gateway_taken, "IpAddressAlreadyAllocated", "already allocated"),
    ("bound-port", _bound_port, "PortInUse", "already has an attached device"),
    ("unknown-subnet", lambda w: InterfaceRequest("nope"), "SubnetNotFound", "nope"),
    ("unknown-port", lambda w: InterfaceRequest(port_id="nope"), "PortNotFound", "nope"),
    ("other-projects-subnet", _lab_subnet, "SubnetNotFound", "could not be found"),
]


@pytest.mark.parametrize(("setup", "kind", "words"), [a[1:] for a in ADD_REFUSALS],
                         ids=[a[0] for a in ADD_REFUSALS])
def test_interfaces_neutron_refuses(world: World, setup: Callable[[World], InterfaceRequest],
                                    kind: str, words: str) -> None:
    asked = setup(world)
    before = by_device(world.service, world.router)
    with pytest.raises(NetworkError, match=words) as refused:
        world.service.routers.add_interface(SHOP, world.router, asked)
    assert refused.value.kind == kind
    assert by_device(world.service, world.router) == before


@pytest.mark.parametrize(("asked", "kind"), [
    (lambda w: InterfaceRequest(port_id="nope"), "RouterInterfaceNotFound"),
    (lambda w: InterfaceRequest(w.subnet), "RouterInterfaceNotFoundForSubnet"),
    (lambda w: InterfaceRequest("nope"), "SubnetNotFound"),
    (lambda w: InterfaceRequest(), "BadRequest"),
], ids=["not-its-port", "no-interface-on-subnet", "unknown-subnet", "neither"])
def test_removing_what_is_not_an_interface_is_refused(
        world: World, asked: Callable[[World], InterfaceRequest], kind: str) -> None:
    with pytest.raises(NetworkError) as refused:
        world.service.routers.remove_interface(SHOP, world.router, asked(world))
    assert refused.value.kind == kind


def test_another_projects_router_takes_no_interface(world: World) -> None:
    with pytest.raises(NetworkError) as refused:
        world.service.routers.add_interface(LAB, world.router, InterfaceRequest(world.subnet))
    assert refused.value.kind == "RouterNotFound"


def test_a_delete_racing_an_add_leaves_no_orphan(any_service: NetworkService) -> None:
    """With the router's row locked by both, either the interface is there
    and the router stays, or the router is gone and no port names it."""
    w = _world(any_service)
    outcomes: dict[str, str] = {}

    def run(name: str, call: Callable[[], object]) -> None:
        try:
            call()
            outcomes[name] = "done"
        except NetworkError as exc:
            outcomes[name] = exc.kind

    threads = [threading.Thread(target=run, args=("add", lambda: any_service.routers
                                                   .add_interface(SHOP, w.router,
                                                                  InterfaceRequest(w.subnet)))),
               threading.Thread(target=run, args=("delete", lambda: any_service.routers
                                                   .delete(SHOP, w.router)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    ports = by_device(any_service, w.router)
    if outcomes["delete"] == "done":
        assert outcomes["add"] == "RouterNotFound" and ports == []
    else:
        assert (outcomes, len(ports)) == ({"add": "done", "delete": "RouterInUse"}, 1)
