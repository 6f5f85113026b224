"""IPAM by draining pools (network.ipam_table), on SQLite and PostgreSQL: what
a subnet's pools become, what allocations take and releases give back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from network import tables
from network.errors import IpAddressAlreadyAllocated, IpAddressGenerationFailure
from network.ipam_table import TableIpam
from network.resources import AllocationPool as Pool
from network.resources import Subnet
from network.rows import writing
from network.schema import open_network_database

IPAM = TableIpam()


def subnet(cidr: str = "10.0.0.0/24", *pools: Pool, version: int = 4) -> Subnet:
    return Subnet(f"s-{cidr}", "net-1", "", "shop", cidr, version, None,
                  pools or (Pool("10.0.0.2", "10.0.0.254"),), (), True, 0.0, 0.0)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    made = open_network_database(db_url)
    yield made
    made.dispose()


def drained(engine: Engine, made: Subnet) -> Subnet:
    with writing(engine, "test") as conn:
        IPAM.add_pools(conn, made)
    return made


def allocate(engine: Engine, made: Subnet, address: str = "") -> str:
    with writing(engine, "test") as conn:
        return IPAM.allocate(conn, made, address)


def release(engine: Engine, made: Subnet, address: str) -> None:
    with writing(engine, "test") as conn:
        IPAM.release(conn, made, address)


def pools(engine: Engine, made: Subnet) -> list[Pool]:
    with writing(engine, "test") as conn:
        return list(IPAM.pools(conn, made))


def test_the_pools_become_free_ranges_and_allocations_take_the_lowest(engine: Engine) -> None:
    s = drained(engine, subnet())
    assert pools(engine, s) == [Pool("10.0.0.2", "10.0.0.254")]
    assert [allocate(engine, s) for _ in range(3)] == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]
    assert pools(engine, s) == [Pool("10.0.0.5", "10.0.0.254")]


def test_an_address_asked_for_is_cut_out_of_its_range(engine: Engine) -> None:
    s = drained(engine, subnet())
    assert allocate(engine, s, "10.0.0.100") == "10.0.0.100"
    assert pools(engine, s) == [Pool("10.0.0.2", "10.0.0.99"), Pool("10.0.0.101", "10.0.0.254")]


@pytest.mark.parametrize("address", ["10.0.0.100", "10.0.0.1"], ids=["in-pool", "outside-pool"])
def test_an_address_held_already_is_a_conflict_in_neutrons_words(
        engine: Engine, address: str) -> None:
    s = drained(engine, subnet())
    allocate(engine, s, address)
    with pytest.raises(IpAddressAlreadyAllocated) as refused:
        allocate(engine, s, address)
    assert refused.value.message == f"IP address {address} already allocated in subnet {s.id}"


def test_an_exhausted_subnet_says_so_and_a_release_refills_it(engine: Engine) -> None:
    s = drained(engine, subnet("10.0.0.0/24", Pool("10.0.0.10", "10.0.0.11")))
    assert {allocate(engine, s), allocate(engine, s)} == {"10.0.0.10", "10.0.0.11"}
    with pytest.raises(IpAddressGenerationFailure) as refused:
        allocate(engine, s)
    assert refused.value.message == "No more IP addresses available on network net-1."
    release(engine, s, "10.0.0.11")
    release(engine, s, "10.0.0.11")  # idempotent: given back once
    assert allocate(engine, s) == "10.0.0.11"
    with pytest.raises(IpAddressGenerationFailure):
        allocate(engine, s)


def test_an_address_outside_the_pools_is_not_added_to_them_on_release(engine: Engine) -> None:
    s = drained(engine, subnet("10.0.0.0/24", Pool("10.0.0.10", "10.0.0.20")))
    allocate(engine, s, "10.0.0.1")
    release(engine, s, "10.0.0.1")
    assert pools(engine, s) == [Pool("10.0.0.10", "10.0.0.20")]
    assert allocate(engine, s, "10.0.0.1") == "10.0.0.1"  # free again


def test_removing_a_subnet_forgets_its_ranges_and_allocations(engine: Engine) -> None:
    s = drained(engine, subnet())
    allocate(engine, s)
    with writing(engine, "test") as conn:
        IPAM.remove(conn, s.id)
        IPAM.remove(conn, s.id)
        left = [conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (tables.ipam_free, tables.ipam_allocations)]
    assert left == [0, 0]


@pytest.mark.parametrize(("cidr", "pool", "version"), [
    ("10.0.0.0/8", Pool("10.0.0.2", "10.255.255.254"), 4),
    ("fd00::/64", Pool("fd00::2", "fd00::ffff:ffff:ffff:ffff"), 6),
], ids=["v4-8", "v6-64"])
def test_a_huge_subnet_is_drained_in_a_few_hundred_rows_at_once(
        engine: Engine, cidr: str, pool: Pool, version: int) -> None:
    began = time.monotonic()
    s = drained(engine, subnet(cidr, pool, version=version))
    assert time.monotonic() - began < 5
    with writing(engine, "test") as conn:
        rows = conn.execute(select(func.count()).select_from(tables.ipam_free)).scalar()
    assert rows is not None and rows <= 256
    assert pools(engine, s) == [pool]
    assert allocate(engine, s) == pool.start
