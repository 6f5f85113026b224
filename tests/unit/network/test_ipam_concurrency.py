"""Concurrent allocations never share an address: many threads, each engine
standing for an API process of its own, drain a /23's pool of 500 addresses,
then the next allocation is the exhaustion error. On PostgreSQL (row locks,
SKIP LOCKED) this is the case that matters; on SQLite writers take turns."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from network.errors import IpAddressGenerationFailure
from network.ipam_table import TableIpam
from network.resources import AllocationPool as Pool
from network.resources import Subnet
from network.rows import writing
from network.schema import open_network_database

IPAM = TableIpam()
# 10.0.0.10 .. 10.0.1.253 of 10.0.0.0/23: 246 + 254 = 500 addresses.
SUBNET = Subnet("s-23", "net-23", "", "shop", "10.0.0.0/23", 4, "10.0.0.1",
                (Pool("10.0.0.10", "10.0.1.253"),), (), True, 0.0, 0.0)
THREADS, PROCESSES = 16, 4


@pytest.fixture
def engines(db_url: str) -> Iterator[list[Engine]]:
    made = [open_network_database(db_url) for _ in range(PROCESSES)]
    yield made
    for engine in made:
        engine.dispose()


def test_500_concurrent_allocations_get_500_addresses_and_then_exhaustion(
        engines: list[Engine]) -> None:
    with writing(engines[0], "test") as conn:
        IPAM.add_pools(conn, SUBNET)
    got: list[str] = []
    failures: list[BaseException] = []
    lock, start = threading.Lock(), threading.Barrier(THREADS)

    def allocate(engine: Engine, count: int) -> None:
        start.wait()
        try:
            for _ in range(count):
                with writing(engine, "test") as conn:
                    address = IPAM.allocate(conn, SUBNET)
                with lock:
                    got.append(address)
        except BaseException as exc:  # reported below, with what was got
            failures.append(exc)

    threads = [threading.Thread(target=allocate, args=(engines[i % PROCESSES],
                                                       500 // THREADS + (i < 500 % THREADS)))
               for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures[:3]
    assert len(got) == 500 and len(set(got)) == 500
    with pytest.raises(IpAddressGenerationFailure), writing(engines[1], "test") as conn:
        IPAM.allocate(conn, SUBNET)


def test_allocators_outnumbering_the_ranges_wait_instead_of_calling_it_exhausted(
        engines: list[Engine]) -> None:
    one_range = Subnet("s-one", "net-one", "", "shop", "10.9.0.0/24", 4, "10.9.0.1",
                       (Pool("10.9.0.10", "10.9.0.25"),), (), True, 0.0, 0.0)
    with writing(engines[0], "test") as conn:
        IPAM.add_pools(conn, one_range)
    got: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def allocate(engine: Engine) -> None:
        start.wait()
        try:
            for _ in range(2):
                with writing(engine, "test") as conn:
                    got.append(IPAM.allocate(conn, one_range))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=allocate, args=(engines[i % PROCESSES],))
               for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures[:3]
    assert sorted(got, key=lambda a: int(a.rsplit(".", 1)[1])) == [
        f"10.9.0.{n}" for n in range(10, 26)]
