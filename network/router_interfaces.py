"""A router's interfaces: ports on its subnets, added and removed in the
router's transaction with its row locked (network.routers), as Neutron's
l3_db does it (a subset). NOTHING ROUTES between them: no agent wires an
interface's port (it stays DOWN), none forwards.

An interface is a `router_ports` row and its port, whose device_id names the
router and device_owner is network:router_interface. Added by a subnet, a
port is made on the subnet's network holding its gateway IP (IpAddressAlreadyAllocated
when the address is taken); added by a port, that port (the caller's, bound
to no device, with fixed IPs) becomes the router's. A subnet is on a router
once, and not beside one whose CIDR overlaps it. Removing one deletes its
port, or with a subnet named of a port holding several, only that address.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, delete, insert, select, update

from network import fixed_ips, tables
from network.errors import NotFound, PortInUse, bad_router_request, not_found
from network.policy import refused
from network.ports import PortStore
from network.resources import (
    Caller,
    FixedIp,
    InterfaceRequest,
    IpRequest,
    PortSpec,
    RouterInterface,
    Subnet,
)
from network.router_ports import ROUTER_INTERFACE
from network.rows import locked, port_ips, subnet_of

rp, p, s, n = tables.router_ports, tables.ports, tables.subnets, tables.networks
ADMIN = Caller("", admin=True)  # makes an interface's port once the caller's checks passed


def add(conn: Connection, ports: PortStore, caller: Caller, router_id: str,
        asked: InterfaceRequest) -> RouterInterface:
    """Add the interface `asked` (a subnet or a port, not both) to the router.
    InvalidInput (Neutron's BadRequest) for neither or both, a subnet without
    a gateway IP, a port without fixed IPs or with two IPv4 subnets, a subnet
    on the router already or overlapping one there; NotFound for a subnet or
    port the caller does not see; PortInUse for a port bound to a device;
    IpAddressAlreadyAllocated for a gateway IP a port holds."""
    if not asked.subnet_id and not asked.port_id:
        raise bad_router_request("Either subnet_id or port_id must be specified")
    if asked.subnet_id and asked.port_id:
        raise bad_router_request("Cannot specify both subnet-id and port-id")
    if asked.port_id:
        return _add_port(conn, caller, router_id, asked.port_id)
    subnet = _visible_subnet(conn, caller, asked.subnet_id)
    if not caller.owns(subnet.project):  # a shared network's subnet is its owner's to route
        raise refused("rule:add_router_interface")
    if not subnet.gateway_ip:
        raise bad_router_request("Subnet for router interface must have a gateway IP")
    _check_free(conn, router_id, [subnet])
    port = ports.create_in(conn, ADMIN, PortSpec(
        subnet.network_id, project=subnet.project, device_id=router_id,
        device_owner=ROUTER_INTERFACE, security_groups=(),
        fixed_ips=(IpRequest(subnet.id, subnet.gateway_ip),)))
    conn.execute(insert(rp).values(port_id=port.id, router_id=router_id))
    return RouterInterface(router_id, port.project, port.id, port.network_id, (subnet.id,))


def remove(conn: Connection, ports: PortStore, caller: Caller, router_id: str,
           asked: InterfaceRequest) -> RouterInterface:
    """Remove the interface `asked` (its port, its subnet, or both): the
    port is deleted, or only its address on the subnet named when it holds
    others. NotFound (RouterInterfaceNotFound, ...ForSubnet, SubnetNotFound)
    when the router has no such interface."""
    if not asked.subnet_id and not asked.port_id:
        raise bad_router_request("Either subnet_id or port_id must be specified")
    if asked.port_id:
        port_id = _interface_port(conn, router_id, asked.port_id)
    else:
        _visible_subnet(conn, caller, asked.subnet_id)
        port_id = _port_on_subnet(conn, router_id, asked.subnet_id)
    port = locked(conn, p, port_id)
    if port is None:  # not while its router_ports row is there (ports.delete refuses)
        raise NotFound(f"Port {port_id} could not be found.", "PortNotFound")
    held = port_ips(conn, [port_id])[port_id]
    gone = [ip for ip in held if ip.subnet_id == asked.subnet_id] if asked.subnet_id else held
    if asked.subnet_id and not gone:
        raise _no_interface_on(router_id, asked.subnet_id)
    if len(gone) < len(held):
        _drop_addresses(conn, ports, port_id, port["network_id"], held, gone)
    else:
        conn.execute(delete(rp).where(rp.c.port_id == port_id))
        ports.delete_in(conn, port_id)
    return RouterInterface(router_id, port["project"], port_id, port["network_id"],
                           tuple(dict.fromkeys(ip.subnet_id for ip in gone)))


def _add_port(conn: Connection, caller: Caller, router_id: str, port_id: str
              ) -> RouterInterface:
    port = locked(conn, p, port_id)
    if port is None or not caller.sees(port["project"]):
        raise not_found("Port", port_id)
    if port["device_id"]:
        raise PortInUse(f"Unable to complete operation on port {port_id} for network"
                        f" {port['network_id']}. Port already has an attached device"
                        f" {port['device_id']}.")
    held = port_ips(conn, [port_id])[port_id]
    if not held:
        raise bad_router_request("Router port must have at least one fixed IP")
    subnets = _subnets(conn, (ip.subnet_id for ip in held))
    if sum(1 for subnet in subnets if subnet.ip_version == 4) > 1:
        raise bad_router_request("Cannot have multiple IPv4 subnets on router port")
    _check_free(conn, router_id, subnets)
    conn.execute(update(p).where(p.c.id == port_id).values(
        device_id=router_id, device_owner=ROUTER_INTERFACE, updated_at=time.time()))
    conn.execute(insert(rp).values(port_id=port_id, router_id=router_id))
    return RouterInterface(router_id, port["project"], port_id, port["network_id"],
                           tuple(subnet.id for subnet in subnets))


def _check_free(conn: Connection, router_id: str, new: Sequence[Subnet]) -> None:
    """InvalidInput when a subnet of `new` is on the router, or overlaps one that is."""
    on_router = select(tables.port_ips.c.subnet_id).join(
        rp, rp.c.port_id == tables.port_ips.c.port_id).where(rp.c.router_id == router_id)
    held = [subnet_of(row._mapping) for row in conn.execute(select(s).where(
        s.c.id.in_(on_router)))]
    for there in held:
        for subnet in new:
            if there.id == subnet.id:
                raise bad_router_request(f"Router already has a port on subnet {subnet.id}")
            if ipaddress.ip_network(there.cidr).overlaps(ipaddress.ip_network(subnet.cidr)):
                raise bad_router_request(
                    f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with cidr"
                    f" {there.cidr} of subnet {there.id}")


def _drop_addresses(conn: Connection, ports: PortStore, port_id: str, network_id: str,
                    held: Sequence[FixedIp], gone: Sequence[FixedIp]) -> None:
    """The port keeps its addresses but `gone`'s, given back to IPAM."""
    kept = [IpRequest(ip.subnet_id, ip.ip_address) for ip in held if ip not in gone]
    fixed_ips.replace(conn, ports.ipam, port_id, network_id,
                      _subnets(conn, (ip.subnet_id for ip in held)), kept)


def _visible_subnet(conn: Connection, caller: Caller, subnet_id: str) -> Subnet:
    row = conn.execute(select(s).where(s.c.id == subnet_id)).first()
    network = None if row is None else conn.execute(
        select(n.c.project, n.c.shared).where(n.c.id == row.network_id)).first()
    if row is None or network is None or not caller.sees(network.project, network.shared):
        raise not_found("Subnet", subnet_id)
    return subnet_of(row._mapping)


def _subnets(conn: Connection, ids: Iterable[str]) -> list[Subnet]:
    rows = conn.execute(select(s).where(s.c.id.in_(set(ids))).order_by(s.c.created_at, s.c.id))
    return [subnet_of(row._mapping) for row in rows]


def _interface_port(conn: Connection, router_id: str, port_id: str) -> str:
    found = conn.execute(select(rp.c.port_id).where(rp.c.port_id == port_id,
                                                    rp.c.router_id == router_id)).scalar()
    if found is None:
        raise NotFound(f"Router {router_id} does not have an interface with id {port_id}",
                       "RouterInterfaceNotFound")
    return str(found)


def _port_on_subnet(conn: Connection, router_id: str, subnet_id: str) -> str:
    ips = tables.port_ips
    found = conn.execute(select(rp.c.port_id).join(ips, ips.c.port_id == rp.c.port_id)
                         .where(rp.c.router_id == router_id, ips.c.subnet_id == subnet_id)
                         .order_by(rp.c.port_id).limit(1)).scalar()
    if found is None:
        raise _no_interface_on(router_id, subnet_id)
    return str(found)


def _no_interface_on(router_id: str, subnet_id: str) -> NotFound:
    return NotFound(f"Router {router_id} has no interface on subnet {subnet_id}",
                    "RouterInterfaceNotFoundForSubnet")
