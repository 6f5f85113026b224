"""A port's fixed IPs: a request matched to the network's subnet, what an
update of them changes, and the list filters on them.

An update names the port's whole new list, and is reckoned as Neutron does:
an address named that the port holds is kept; a subnet named without an
address keeps an address the port holds on it; everything else named is
allocated, and what the port holds that nothing named is given back. The
given back and the new are IPAM's in the port's transaction: all or none.

Filters (Neutron's `fixed_ips=ip_address=X`, `fixed_ips=subnet_id=Y`,
`fixed_ips=ip_address_substr=Z`) keep ports with a fixed IP matching every
kind given (any value of each), on one and the same fixed IP.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Exists, and_, delete, exists, insert, or_, select

from network import tables
from network.addresses import hosts, parse_cidr, parse_ip
from network.errors import invalid
from network.ipam import IpamDriver
from network.resources import FixedIp, IpRequest, Subnet
from network.rows import port_ips

# The ListQuery filters (by these names) on a port's fixed IPs.
BY_ADDRESS, BY_SUBNET, BY_SUBSTRING = ("fixed_ips.ip_address", "fixed_ips.subnet_id",
                                       "fixed_ips.ip_address_substr")
FILTERS = frozenset({BY_ADDRESS, BY_SUBNET, BY_SUBSTRING})


@dataclass(frozen=True, slots=True)
class IpChanges:
    keep: tuple[FixedIp, ...]
    add: tuple[IpRequest, ...]
    remove: tuple[FixedIp, ...]


def subnet_for(asked: IpRequest, subnets: Sequence[Subnet], network_id: str) -> Subnet:
    """The subnet of the network a fixed IP request names (by id, or by holding
    its address); InvalidInput when none does, or the address cannot be a port's."""
    for subnet in subnets:
        net = parse_cidr(subnet.cidr, subnet.ip_version)
        address = parse_ip(asked.ip_address) if asked.ip_address else None
        if asked.subnet_id and asked.subnet_id != subnet.id:
            continue
        if address is None:
            return subnet
        first, last = hosts(net)
        if address.version == net.version and first <= int(address) <= last:
            return subnet
        if asked.subnet_id:
            raise invalid(f"IP address {asked.ip_address} is not a valid IP for the"
                          " specified subnet")
    if asked.subnet_id:
        raise invalid(f"Failed to create port on network {network_id}, because fixed_ips"
                      f" included invalid subnet {asked.subnet_id}")
    raise invalid(f"IP address {asked.ip_address} is not a valid IP for any subnet on"
                  f" network {network_id}")


def changes(held: Sequence[FixedIp], asked: Sequence[IpRequest]) -> IpChanges:
    """What a port holding `held` keeps, allocates and gives back to hold `asked`."""
    by_address = {str(parse_ip(ip.ip_address)): ip for ip in held}
    keep: list[FixedIp] = []
    add: list[IpRequest] = []
    for request in (r for r in asked if r.ip_address):
        found = by_address.pop(str(parse_ip(request.ip_address)), None)
        if found is not None and request.subnet_id in ("", found.subnet_id):
            keep.append(found)
        else:
            add.append(request)
    by_subnet: dict[str, list[FixedIp]] = defaultdict(list)
    for ip in by_address.values():
        by_subnet[ip.subnet_id].append(ip)
    for request in (r for r in asked if not r.ip_address):
        left = by_subnet.get(request.subnet_id)
        if left:
            keep.append(left.pop(0))
        else:
            add.append(request)
    remove = tuple(ip for ips in by_subnet.values() for ip in ips)
    return IpChanges(tuple(keep), tuple(add), remove)


def replace(conn: Connection, ipam: IpamDriver, port_id: str, network_id: str,
            subnets: Sequence[Subnet], asked: Sequence[IpRequest]) -> None:
    """Give the port (locked by the caller) the fixed IPs `asked`, its old ones
    given back; IpAddressAlreadyAllocated, IpAddressGenerationFailure or
    InvalidInput leave the transaction to be rolled back."""
    change = changes(port_ips(conn, [port_id])[port_id], asked)
    by_id = {subnet.id: subnet for subnet in subnets}
    rows = tables.port_ips
    for ip in change.remove:
        ipam.release(conn, by_id[ip.subnet_id], ip.ip_address)
        conn.execute(delete(rows).where(rows.c.subnet_id == ip.subnet_id,
                                        rows.c.ip_address == ip.ip_address))
    new = [FixedIp(subnet.id, ipam.allocate(conn, subnet, request.ip_address))
           for request in change.add
           for subnet in [subnet_for(request, subnets, network_id)]]
    if new:
        conn.execute(insert(rows), [{"port_id": port_id, "subnet_id": ip.subnet_id,
                                     "ip_address": ip.ip_address} for ip in new])


def split(filters: Mapping[str, tuple[str, ...]]
          ) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """`filters` as (the port's own fields', the fixed IP ones)."""
    own = {k: v for k, v in filters.items() if k not in FILTERS}
    return own, {k: v for k, v in filters.items() if k in FILTERS}


def matching(filters: Mapping[str, tuple[str, ...]]) -> Exists:
    """The condition on ports that one of their fixed IPs meets `filters`
    (FILTERS' names)."""
    rows = tables.port_ips
    conditions = [rows.c.port_id == tables.ports.c.id]
    if BY_ADDRESS in filters:
        conditions.append(rows.c.ip_address.in_(filters[BY_ADDRESS]))
    if BY_SUBNET in filters:
        conditions.append(rows.c.subnet_id.in_(filters[BY_SUBNET]))
    if BY_SUBSTRING in filters:
        conditions.append(or_(*(rows.c.ip_address.contains(v, autoescape=True)
                                for v in filters[BY_SUBSTRING])))
    return exists(select(rows.c.port_id).where(and_(*conditions)))
