"""Subnet arithmetic: default gateways and pools, pool checks, chunks."""

from __future__ import annotations

import itertools

import pytest

from network.addresses import (
    check_pools,
    chunks,
    default_gateway,
    default_pools,
    key,
    parse_cidr,
    unkey,
)
from network.errors import InvalidInput
from network.resources import AllocationPool as Pool


@pytest.mark.parametrize(("cidr", "version", "gateway", "pools"), [
    ("10.0.0.0/24", 4, "10.0.0.1", [Pool("10.0.0.2", "10.0.0.254")]),
    ("10.0.0.0/30", 4, "10.0.0.1", [Pool("10.0.0.2", "10.0.0.2")]),
    ("fd00::/64", 6, "fd00::1", [Pool("fd00::2", "fd00::ffff:ffff:ffff:ffff")]),
], ids=["v4-24", "v4-30", "v6-64"])
def test_the_default_gateway_is_the_first_host_and_the_pool_the_rest(
        cidr: str, version: int, gateway: str, pools: list[Pool]) -> None:
    net = parse_cidr(cidr, version)
    assert default_gateway(net) == gateway
    assert list(default_pools(net, gateway)) == pools


def test_a_gateway_inside_splits_the_default_pool() -> None:
    net = parse_cidr("10.0.0.0/29", 4)
    assert default_pools(net, "10.0.0.4") == (Pool("10.0.0.1", "10.0.0.3"),
                                              Pool("10.0.0.5", "10.0.0.6"))


@pytest.mark.parametrize(("cidr", "version", "says"), [
    ("10.0.0.1/24", 4, "'10.0.0.0/24' is recommended"),
    ("10.0.0.0/33", 4, "not a valid IP subnet"),
    ("fd00::/64", 4, "does not match ip_version 4"),
    ("nonsense", 4, "not a valid IP subnet"),
], ids=["host-bits", "prefix", "version", "text"])
def test_a_bad_cidr_is_invalid_input(cidr: str, version: int, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        parse_cidr(cidr, version)


@pytest.mark.parametrize(("pools", "says"), [
    ([Pool("10.0.0.0", "10.0.0.9")], "spans beyond"),
    ([Pool("10.0.0.2", "10.0.1.9")], "spans beyond"),
    ([Pool("10.0.0.9", "10.0.0.2")], "Invalid allocation pool"),
    ([Pool("10.0.0.2", "10.0.0.9"), Pool("10.0.0.9", "10.0.0.20")], "overlapping"),
    ([Pool("10.0.0.1", "10.0.0.9")], "conflicts with allocation pool"),
], ids=["network-address", "outside", "reversed", "overlap", "gateway"])
def test_pools_must_be_hosts_of_the_subnet_apart_from_each_other_and_the_gateway(
        pools: list[Pool], says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        check_pools(parse_cidr("10.0.0.0/24", 4), pools, "10.0.0.1")


def test_chunks_cover_the_range_in_few_pieces() -> None:
    pieces = list(chunks(0, 2**64 - 1, 256, 16))
    assert len(pieces) == 256
    assert pieces[0][0] == 0 and pieces[-1][1] == 2**64 - 1
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(pieces))
    assert list(chunks(5, 20, 256, 16)) == [(5, 20)]


def test_keys_sort_as_the_addresses_do() -> None:
    assert key(9) < key(10) < key(2**100)
    assert unkey(key(167772161), 4) == "10.0.0.1"
    assert unkey(key(1), 6) == "::1"
