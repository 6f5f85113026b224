"""Addresses and pools as IPAM and the subnets need them: parsing with
Neutron's messages, a subnet's default gateway and pools, and `key`, the
fixed-width form the IPAM tables store and compare."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterator, Sequence

from network.errors import invalid
from network.resources import AllocationPool

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def key(address: int) -> str:
    """The stored form: 32 hex digits, so string order is numeric order."""
    return f"{address:032x}"


def unkey(stored: str, version: int) -> str:
    """The address `key` stored, as text."""
    return text(int(stored, 16), version)


def text(address: int, version: int) -> str:
    if version == 4:
        return str(ipaddress.IPv4Address(address))
    return str(ipaddress.IPv6Address(address))


def parse_cidr(cidr: str, ip_version: int) -> IpNetwork:
    """The subnet `cidr` names; InvalidInput unless it is one of `ip_version`
    with no host bits set."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise invalid(f"'{cidr}' is not a valid IP subnet") from None
    if str(net) != cidr.strip():
        raise invalid(f"'{cidr}' isn't a recognized IP subnet cidr, '{net}' is recommended")
    if net.version != ip_version:
        raise invalid(f"Cidr {cidr} does not match ip_version {ip_version}")
    return net


def parse_ip(text: str) -> IpAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise invalid(f"'{text}' is not a valid IP address") from None


def hosts(net: IpNetwork) -> tuple[int, int]:
    """The first and last address a port may have: IPv4 leaves out the network
    and broadcast addresses (but for /31 and /32), IPv6 the subnet-router one."""
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.version == 4 and net.prefixlen >= 31:
        return first, last
    return first + 1, (last - 1 if net.version == 4 else last)


def default_gateway(net: IpNetwork) -> str:
    return text(hosts(net)[0], net.version)


def default_pools(net: IpNetwork, gateway: str | None) -> tuple[AllocationPool, ...]:
    """The hosts of `net` but the gateway, as Neutron makes them."""
    first, last = hosts(net)
    spans = [(first, last)]
    if gateway:
        gw = int(ipaddress.ip_address(gateway))
        spans = [(a, b) for a, b in ((first, gw - 1), (gw + 1, last))]
    return tuple(AllocationPool(text(a, net.version), text(b, net.version))
                 for a, b in spans if a <= b)


def check_pools(net: IpNetwork, pools: Sequence[AllocationPool], gateway: str | None) -> None:
    """InvalidInput unless each pool is a range of `net`'s hosts, none overlaps
    another, and none holds the gateway."""
    first, last = hosts(net)
    spans = sorted(span(p) for p in pools)
    for (a, b), pool in zip(spans, sorted(pools, key=span), strict=True):
        if not (first <= a <= b <= last):
            raise invalid(f"The allocation pool {pool.start}-{pool.end} spans beyond"
                          f" the subnet cidr {net}")
    for (_, b), (c, _) in itertools.pairwise(spans):
        if c <= b:
            raise invalid("Found overlapping allocation pools")
    if gateway:
        gw = int(ipaddress.ip_address(gateway))
        for pool in pools:
            a, b = span(pool)
            if a <= gw <= b:
                raise invalid(f"Gateway ip {gateway} conflicts with allocation pool"
                              f" {pool.start}-{pool.end}")


def span(pool: AllocationPool) -> tuple[int, int]:
    """A pool as integers; InvalidInput for addresses that are not, or reversed."""
    a, b = int(parse_ip(pool.start)), int(parse_ip(pool.end))
    if a > b:
        raise invalid(f"Invalid allocation pool {pool.start}-{pool.end}")
    return a, b


def chunks(first: int, last: int, most: int, least: int) -> Iterator[tuple[int, int]]:
    """[first, last] cut into at most about `most` ranges of at least `least`."""
    size = max(least, -(-(last - first + 1) // most))
    for start in range(first, last + 1, size):
        yield start, min(start + size - 1, last)
