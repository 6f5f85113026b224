"""The network service against its database: networks on segments, subnets
drained into IPAM, ports with MACs and fixed IPs, who sees what, and what
cannot be deleted while in use."""

from __future__ import annotations

import threading

import pytest

from network.errors import (
    InvalidInput,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
    MacAddressInUse,
    NetworkInUse,
    NoNetworkAvailable,
    NotAuthorized,
    NotFound,
    SegmentInUse,
    SubnetInUse,
)
from network.resources import (
    Caller,
    Changes,
    IpRequest,
    ListQuery,
    NetworkSpec,
    NetworkType,
    PortSpec,
    PortStatus,
    SortDir,
    SubnetSpec,
)
from network.service import NetworkService
from network.settings import NetworkSettings

SHOP, LAB, ADMIN = Caller("shop"), Caller("lab"), Caller("ops", admin=True)


def shop_net(service: NetworkService, cidr: str = "10.0.0.0/24", name: str = "net"
             ) -> tuple[str, str]:
    """A network of shop's with one subnet: (network id, subnet id)."""
    net = service.networks.create(SHOP, NetworkSpec(name=name))
    return net.id, service.subnets.create(SHOP, SubnetSpec(net.id, cidr)).id


def test_tenant_networks_get_the_lowest_free_vlan(service: NetworkService) -> None:
    made = [service.networks.create(SHOP, NetworkSpec(name=f"n{i}")) for i in range(3)]
    assert [(n.type, n.physical_network, n.segmentation_id) for n in made] == [
        (NetworkType.VLAN, "physnet1", 1), (NetworkType.VLAN, "physnet1", 2),
        (NetworkType.VLAN, "physnet1", 3)]
    service.networks.delete(SHOP, made[1].id)
    assert service.networks.create(LAB, NetworkSpec()).segmentation_id == 2


def test_no_vlan_left_is_no_network_available(sqlite_url: str) -> None:
    one = NetworkService.open(sqlite_url, NetworkSettings(vlan_min=5, vlan_max=5))
    try:
        assert one.networks.create(SHOP, NetworkSpec()).segmentation_id == 5
        with pytest.raises(NoNetworkAvailable):
            one.networks.create(SHOP, NetworkSpec())
    finally:
        one.close()


@pytest.mark.parametrize(("spec", "kind"), [
    (NetworkSpec(type=NetworkType.VLAN, physical_network="physnet2", segmentation_id=7),
     "VlanIdInUse"),
    (NetworkSpec(type=NetworkType.FLAT, physical_network="physnet2"), "FlatNetworkInUse"),
], ids=["vlan", "flat"])
def test_a_provider_segment_is_one_networks(service: NetworkService, spec: NetworkSpec,
                                            kind: str) -> None:
    service.networks.create(ADMIN, spec)
    with pytest.raises(SegmentInUse) as refused:
        service.networks.create(ADMIN, spec)
    assert refused.value.kind == kind


@pytest.mark.parametrize("spec", [
    NetworkSpec(shared=True), NetworkSpec(type=NetworkType.FLAT), NetworkSpec(project="lab")],
    ids=["shared", "provider", "other-project"])
def test_members_may_not_make_admins_networks(service: NetworkService, spec: NetworkSpec
                                              ) -> None:
    with pytest.raises(NotAuthorized, match="disallowed by policy"):
        service.networks.create(SHOP, spec)


def test_a_member_sees_its_projects_and_shared_networks_an_admin_all(
        service: NetworkService) -> None:
    mine, _ = shop_net(service)
    shared = service.networks.create(ADMIN, NetworkSpec(name="public", shared=True)).id
    assert {n.id for n in service.networks.list(LAB, ListQuery())} == {shared}
    assert {n.id for n in service.networks.list(SHOP, ListQuery())} == {mine, shared}
    assert {n.id for n in service.networks.list(ADMIN, ListQuery())} == {mine, shared}
    with pytest.raises(NotFound, match=f"Network {mine} could not be found"):
        service.networks.show(LAB, mine)
    assert service.subnets.list(LAB, ListQuery(filters={"network_id": (mine,)})) == []
    with pytest.raises(NotFound):
        service.networks.delete(LAB, mine)
    with pytest.raises(NotAuthorized):
        service.networks.update(SHOP, shared, Changes({"name": "mine now"}))


def test_a_subnet_gets_neutrons_defaults_and_may_not_overlap(service: NetworkService) -> None:
    net, sub = shop_net(service)
    made = service.subnets.show(SHOP, sub)
    assert (made.gateway_ip, [(p.start, p.end) for p in made.allocation_pools]) == (
        "10.0.0.1", [("10.0.0.2", "10.0.0.254")])
    assert service.networks.show(SHOP, net).subnets == (sub,)
    with pytest.raises(InvalidInput, match="overlaps with another subnet"):
        service.subnets.create(SHOP, SubnetSpec(net, "10.0.0.128/25"))
    v6 = service.subnets.create(SHOP, SubnetSpec(net, "fd00::/64", ip_version=6, gateway_ip=""))
    assert v6.gateway_ip is None and v6.allocation_pools[0].start == "fd00::1"


def test_a_member_cannot_add_subnets_to_a_network_not_its_own(service: NetworkService) -> None:
    mine, _ = shop_net(service)
    shared = service.networks.create(ADMIN, NetworkSpec(shared=True)).id
    with pytest.raises(NotFound):
        service.subnets.create(LAB, SubnetSpec(mine, "10.1.0.0/24"))
    with pytest.raises(NotAuthorized):
        service.subnets.create(LAB, SubnetSpec(shared, "10.1.0.0/24"))


def test_ports_get_a_mac_of_the_base_and_the_lowest_free_address(
        service: NetworkService) -> None:
    net, sub = shop_net(service)
    ports = [service.ports.create(SHOP, PortSpec(net)) for _ in range(2)]
    assert [p.fixed_ips[0].ip_address for p in ports] == ["10.0.0.2", "10.0.0.3"]
    assert all(p.mac_address.startswith("fa:16:3e:") for p in ports)
    assert ports[0].mac_address != ports[1].mac_address
    assert (ports[0].status, ports[0].fixed_ips[0].subnet_id) == (PortStatus.DOWN, sub)


def test_a_fixed_ip_asked_for_is_taken_once(service: NetworkService) -> None:
    net, sub = shop_net(service)
    asked = (IpRequest(ip_address="10.0.0.50"),)
    assert service.ports.create(SHOP, PortSpec(net, fixed_ips=asked)).fixed_ips[0].subnet_id == sub
    with pytest.raises(IpAddressAlreadyAllocated,
                       match=f"IP address 10.0.0.50 already allocated in subnet {sub}"):
        service.ports.create(SHOP, PortSpec(net, fixed_ips=asked))


@pytest.mark.parametrize("asked", [
    IpRequest(ip_address="10.9.0.5"), IpRequest(subnet_id="nope"),
    IpRequest(ip_address="10.0.0.255"), IpRequest(ip_address="not an ip")],
    ids=["other-cidr", "other-subnet", "broadcast", "garbage"])
def test_a_fixed_ip_not_of_the_network_is_invalid(service: NetworkService, asked: IpRequest
                                                 ) -> None:
    net, _ = shop_net(service)
    with pytest.raises(InvalidInput):
        service.ports.create(SHOP, PortSpec(net, fixed_ips=(asked,)))


def test_an_exhausted_network_refuses_a_port_and_its_release_frees_the_address(
        service: NetworkService) -> None:
    net, _ = shop_net(service, "10.0.0.0/30")  # one address: 10.0.0.2
    port = service.ports.create(SHOP, PortSpec(net))
    with pytest.raises(IpAddressGenerationFailure,
                       match=f"No more IP addresses available on network {net}."):
        service.ports.create(SHOP, PortSpec(net))
    service.ports.delete(SHOP, port.id)
    assert service.ports.create(SHOP, PortSpec(net)).fixed_ips[0].ip_address == "10.0.0.2"


def test_networks_and_subnets_in_use_are_not_deleted(service: NetworkService) -> None:
    net, sub = shop_net(service)
    port = service.ports.create(SHOP, PortSpec(net))
    with pytest.raises(NetworkInUse):
        service.networks.delete(SHOP, net)
    with pytest.raises(SubnetInUse):
        service.subnets.delete(SHOP, sub)
    service.ports.delete(SHOP, port.id)
    service.subnets.delete(SHOP, sub)
    service.networks.delete(SHOP, net)
    with pytest.raises(NotFound):
        service.networks.show(SHOP, net)


def test_macs_are_unique_per_network_and_drawn_again(sqlite_url: str) -> None:
    fixed = NetworkService.open(sqlite_url, NetworkSettings(mac_base="fa:16:3e:00:00:01"))
    try:
        net, _ = shop_net(fixed)
        assert fixed.ports.create(SHOP, PortSpec(net)).mac_address == "fa:16:3e:00:00:01"
        with pytest.raises(MacAddressInUse):  # every draw is the same MAC
            fixed.ports.create(SHOP, PortSpec(net))
        other, _ = shop_net(fixed, "10.1.0.0/24")
        assert fixed.ports.create(SHOP, PortSpec(other)).mac_address == "fa:16:3e:00:00:01"
        with pytest.raises(MacAddressInUse):
            fixed.ports.create(SHOP, PortSpec(other, mac_address="FA:16:3E:00:00:01"))
    finally:
        fixed.close()


def test_a_member_uses_a_shared_network_but_sees_only_its_ports(service: NetworkService
                                                              ) -> None:
    shared = service.networks.create(ADMIN, NetworkSpec(shared=True)).id
    service.subnets.create(ADMIN, SubnetSpec(shared, "10.5.0.0/24"))
    theirs = service.ports.create(LAB, PortSpec(shared))
    mine = service.ports.create(SHOP, PortSpec(shared))
    assert [p.id for p in service.ports.list(SHOP, ListQuery())] == [mine.id]
    with pytest.raises(NotFound):
        service.ports.delete(SHOP, theirs.id)
    assert theirs.project == "lab"


def test_port_updates_binding_and_status_are_admins(service: NetworkService) -> None:
    net, _ = shop_net(service)
    port = service.ports.create(SHOP, PortSpec(net))
    changed = service.ports.update(SHOP, port.id, Changes({"device_id": "vm-1",
                                                           "device_owner": "compute:nova"}))
    assert (changed.device_id, changed.device_owner) == ("vm-1", "compute:nova")
    with pytest.raises(NotAuthorized):
        service.ports.update(SHOP, port.id, Changes({"binding_host": "h1"}))
    bound = service.ports.update(ADMIN, port.id, Changes({"binding_host": "h1",
                                                          "status": "ACTIVE"}))
    assert (bound.binding_host, bound.status) == ("h1", PortStatus.ACTIVE)
    with pytest.raises(InvalidInput):
        service.ports.update(ADMIN, port.id, Changes({"mac_address": "fa:16:3e:00:00:02"}))


@pytest.mark.parametrize(("ask", "names"), [
    (ListQuery(filters={"name": ("b", "d")}, sort=(("name", SortDir.ASC),)), ["b", "d"]),
    (ListQuery(filters={"admin_state_up": ("false",)}), ["e"]),
    (ListQuery(sort=(("name", SortDir.DESC),), limit=2), ["e", "d"]),
    (ListQuery(sort=(("name", SortDir.ASC),), limit=2, marker="b"), ["c", "d"]),
    (ListQuery(sort=(("name", SortDir.ASC),), limit=2, marker="d", page_reverse=True),
     ["b", "c"]),
    (ListQuery(sort=(("name", SortDir.DESC),), marker="c"), ["b", "a"]),
], ids=["any-of", "boolean", "sorted-limit", "after-marker", "before-marker", "desc-marker"])
def test_lists_filter_sort_and_page(service: NetworkService, ask: ListQuery, names: list[str]
                                    ) -> None:
    ids = {}
    for name in "cabed":
        made = service.networks.create(SHOP, NetworkSpec(name=name, admin_state_up=name != "e"))
        ids[name] = made.id
    if ask.marker:
        ask = ListQuery(ask.filters, ask.sort, ask.limit, ids[ask.marker], ask.page_reverse)
    assert [n.name for n in service.networks.list(SHOP, ask)] == names


def test_an_unknown_filter_or_sort_key_is_invalid(service: NetworkService) -> None:
    with pytest.raises(InvalidInput, match="tags is invalid attribute for filtering"):
        service.networks.list(SHOP, ListQuery(filters={"tags": ("x",)}))
    with pytest.raises(InvalidInput, match="invalid attribute for sort_keys"):
        service.subnets.list(SHOP, ListQuery(sort=(("gateway_ip", SortDir.ASC),)))


def test_two_services_over_one_database_are_one_service(any_service: NetworkService,
                                                        db_url: str) -> None:
    other = NetworkService.open(db_url)  # as a second API process
    try:
        net, sub = shop_net(any_service)
        port = other.ports.create(SHOP, PortSpec(net))
        assert any_service.ports.show(SHOP, port.id).fixed_ips[0].ip_address == "10.0.0.2"
        assert any_service.ports.create(SHOP, PortSpec(net)).fixed_ips[0].ip_address == \
            "10.0.0.3"
        with pytest.raises(SubnetInUse):
            other.subnets.delete(SHOP, sub)
    finally:
        other.close()


def test_ports_made_at_once_by_two_processes_get_distinct_addresses(
        any_service: NetworkService, db_url: str) -> None:
    other = NetworkService.open(db_url)
    try:
        net, _ = shop_net(any_service, "10.6.0.0/26")  # 61 addresses: .2 to .62
        made: list[tuple[str, str]] = []
        failures: list[BaseException] = []
        start = threading.Barrier(6)

        def create(service: NetworkService) -> None:
            start.wait()
            try:
                for _ in range(10):
                    port = service.ports.create(SHOP, PortSpec(net))
                    made.append((port.fixed_ips[0].ip_address, port.mac_address))
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=create, args=((any_service, other)[i % 2],))
                   for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failures, failures[:3]
        assert len({ip for ip, _ in made}) == len({mac for _, mac in made}) == 60
    finally:
        other.close()
