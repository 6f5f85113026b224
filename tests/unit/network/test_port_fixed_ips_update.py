"""A port's fixed IPs changed by an update (Neutron's reckoning: what is named
and held is kept, the rest given back to IPAM, the new allocated, all or
none), and the list filters on fixed IPs."""

from __future__ import annotations

import pytest

from network.errors import InvalidInput, IpAddressAlreadyAllocated
from network.fixed_ips import BY_ADDRESS, BY_SUBNET, BY_SUBSTRING, changes
from network.resources import (
    Caller,
    Changes,
    FixedIp,
    IpRequest,
    ListQuery,
    NetworkSpec,
    PortSpec,
    SubnetSpec,
)
from network.service import NetworkService

SHOP = Caller("shop")
A1, A2, B1 = FixedIp("a", "10.0.0.2"), FixedIp("a", "10.0.0.3"), FixedIp("b", "10.0.1.2")


@pytest.mark.parametrize(("held", "asked", "keep", "add", "remove"), [
    pytest.param((A1,), (IpRequest("a"),), (A1,), (), (), id="a-subnet-keeps-its-address"),
    pytest.param((A1, B1), (IpRequest("a"),), (A1,), (), (B1,), id="one-of-two-goes"),
    pytest.param((A1,), (IpRequest("a"), IpRequest("b")), (A1,), (IpRequest("b"),), (),
                 id="a-second-subnet-is-added"),
    pytest.param((A1,), (IpRequest("a", "10.0.0.3"),), (), (IpRequest("a", "10.0.0.3"),),
                 (A1,), id="another-address-replaces"),
    pytest.param((A1, A2), (IpRequest(ip_address="10.0.0.3"),), (A2,), (), (A1,),
                 id="an-address-held-is-kept"),
    pytest.param((A1,), (), (), (), (A1,), id="none-left"),
])
def test_changes(held: tuple[FixedIp, ...], asked: tuple[IpRequest, ...],
                 keep: tuple[FixedIp, ...], add: tuple[IpRequest, ...],
                 remove: tuple[FixedIp, ...]) -> None:
    change = changes(held, asked)
    assert (change.keep, change.add, change.remove) == (keep, add, remove)


def two_subnets(service: NetworkService) -> tuple[str, str, str]:
    net = service.networks.create(SHOP, NetworkSpec())
    one = service.subnets.create(SHOP, SubnetSpec(net.id, "10.0.0.0/29"))
    two = service.subnets.create(SHOP, SubnetSpec(net.id, "10.0.1.0/29"))
    return net.id, one.id, two.id


def ips(service: NetworkService, port_id: str) -> set[tuple[str, str]]:
    return {(ip.subnet_id, ip.ip_address) for ip in service.ports.show(SHOP, port_id).fixed_ips}


def test_a_second_ip_is_added_and_taken_away(any_service: NetworkService) -> None:
    net, one, two = two_subnets(any_service)
    port = any_service.ports.create(SHOP, PortSpec(net, fixed_ips=(IpRequest(one),)))
    both = Changes({"fixed_ips": (IpRequest(one), IpRequest(two))})
    assert len(any_service.ports.update(SHOP, port.id, both).fixed_ips) == 2
    assert ips(any_service, port.id) == {(one, "10.0.0.2"), (two, "10.0.1.2")}
    any_service.ports.update(SHOP, port.id, Changes({"fixed_ips": (IpRequest(one),)}))
    assert ips(any_service, port.id) == {(one, "10.0.0.2")}
    # 10.0.1.2 was given back: another port gets it.
    other = any_service.ports.create(SHOP, PortSpec(net, fixed_ips=(IpRequest(two),)))
    assert other.fixed_ips[0].ip_address == "10.0.1.2"


def test_an_address_is_changed_and_the_old_one_freed(any_service: NetworkService) -> None:
    net, one, _ = two_subnets(any_service)
    port = any_service.ports.create(SHOP, PortSpec(net, fixed_ips=(IpRequest(one),)))
    any_service.ports.update(SHOP, port.id, Changes({
        "fixed_ips": (IpRequest(one, "10.0.0.6"),), "description": "moved"}))
    assert ips(any_service, port.id) == {(one, "10.0.0.6")}
    assert any_service.ports.show(SHOP, port.id).description == "moved"
    taker = any_service.ports.create(SHOP, PortSpec(net, fixed_ips=(IpRequest(one, "10.0.0.2"),)))
    assert taker.fixed_ips[0].ip_address == "10.0.0.2"


def test_a_refused_change_changes_nothing(any_service: NetworkService) -> None:
    net, one, two = two_subnets(any_service)
    port = any_service.ports.create(SHOP, PortSpec(net, fixed_ips=(IpRequest(one),)))
    holder = any_service.ports.create(SHOP, PortSpec(net, fixed_ips=(IpRequest(two),)))
    taken = holder.fixed_ips[0].ip_address
    with pytest.raises(IpAddressAlreadyAllocated):
        any_service.ports.update(SHOP, port.id, Changes({"fixed_ips": (IpRequest(two, taken),)}))
    with pytest.raises(InvalidInput):
        any_service.ports.update(SHOP, port.id, Changes({
            "fixed_ips": (IpRequest(ip_address="192.168.9.9"),)}))
    assert ips(any_service, port.id) == {(one, "10.0.0.2")}
    assert any_service.ports.create(SHOP, PortSpec(net, fixed_ips=(IpRequest(one),))
                                    ).fixed_ips[0].ip_address == "10.0.0.3"


def test_lists_filter_by_fixed_ips(any_service: NetworkService) -> None:
    net, one, two = two_subnets(any_service)
    first = any_service.ports.create(SHOP, PortSpec(net, fixed_ips=(IpRequest(one),)))
    second = any_service.ports.create(SHOP, PortSpec(
        net, fixed_ips=(IpRequest(one), IpRequest(two))))

    def found(**filters: tuple[str, ...]) -> set[str]:
        names = {"address": BY_ADDRESS, "subnet": BY_SUBNET, "substr": BY_SUBSTRING}
        ask = ListQuery({names[k]: v for k, v in filters.items()})
        return {p.id for p in any_service.ports.list(SHOP, ask)}

    assert found(address=("10.0.0.2",)) == {first.id}
    assert found(subnet=(two,)) == {second.id}
    assert found(subnet=(one,)) == {first.id, second.id}
    assert found(address=("10.0.0.2",), subnet=(two,)) == set()  # one and the same IP
    assert found(address=("10.0.1.2",), subnet=(two,)) == {second.id}
    assert found(substr=("0.1.",)) == {second.id}
    assert found(substr=("%",)) == set()
