"""IPAM by draining pools: a subnet's free addresses are rows, and an
allocation takes one under a row lock.

Rows are ranges, not single addresses: a /16's pool would be 65,534 rows, an
IPv6 /64's more than can ever be written. When a subnet is made each pool is
cut into at most about MOST_CHUNKS ranges (of at least LEAST_CHUNK addresses),
so making a subnet costs a few hundred rows whatever its size, and allocators
have that many rows to spread over.

An allocation pops the lowest address of a free range:

    PostgreSQL  SELECT ... ORDER BY first LIMIT 1 FOR UPDATE SKIP LOCKED: each
                concurrent allocator locks a different range and none waits;
                when every range is locked by someone, it waits for one
                (FOR UPDATE without SKIP LOCKED) instead of calling the subnet
                exhausted. The range then shrinks by one (or goes).
    SQLite      the caller's transaction holds the write lock (BEGIN
                IMMEDIATE): allocators take turns.

Either way the address is also inserted into ipam_allocations, whose primary
key (subnet, address) is the last word: an address asked for by value, which
may lie outside the pools, is one holder's or a conflict. A release deletes
that row and gives a pool address back as a range of one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from network import tables
from network.addresses import chunks, key, parse_ip, span, text, unkey
from network.errors import IpAddressAlreadyAllocated, IpAddressGenerationFailure
from network.resources import AllocationPool, Subnet

MOST_CHUNKS = 256
LEAST_CHUNK = 16
free = tables.ipam_free
taken = tables.ipam_allocations


class TableIpam:
    """The IpamDriver (network.ipam) of the free-range table."""

    name = "table"

    def add_pools(self, conn: Connection, subnet: Subnet) -> None:
        rows = [{"subnet_id": subnet.id, "first": key(a), "last": key(b)}
                for pool in subnet.allocation_pools
                for a, b in chunks(*span(pool), MOST_CHUNKS, LEAST_CHUNK)]
        if rows:
            conn.execute(insert(free), rows)

    def set_pools(self, conn: Connection, subnet: Subnet) -> None:
        held = sorted(int(a, 16) for a in conn.execute(
            select(taken.c.address).where(taken.c.subnet_id == subnet.id)).scalars())
        conn.execute(delete(free).where(free.c.subnet_id == subnet.id))
        rows = [{"subnet_id": subnet.id, "first": key(a), "last": key(b)}
                for pool in subnet.allocation_pools
                for lo, hi in _less(span(pool), held)
                for a, b in chunks(lo, hi, MOST_CHUNKS, LEAST_CHUNK)]
        if rows:
            conn.execute(insert(free), rows)

    def pools(self, conn: Connection, subnet: Subnet) -> tuple[AllocationPool, ...]:
        rows = conn.execute(select(free.c.first, free.c.last)
                            .where(free.c.subnet_id == subnet.id).order_by(free.c.first))
        merged: list[list[int]] = []
        for row in rows:
            first, last = int(row.first, 16), int(row.last, 16)
            if merged and merged[-1][1] + 1 == first:
                merged[-1][1] = last
            else:
                merged.append([first, last])
        version = subnet.ip_version
        return tuple(AllocationPool(text(a, version), text(b, version)) for a, b in merged)

    def allocate(self, conn: Connection, subnet: Subnet, address: str = "") -> str:
        if address:
            self._take(conn, subnet, int(parse_ip(address)))
            return address
        row = (self._lowest(conn, subnet.id, skip_locked=True)
               or self._lowest(conn, subnet.id, skip_locked=False))
        if row is None:
            raise IpAddressGenerationFailure(
                f"No more IP addresses available on network {subnet.network_id}.")
        if row.first == row.last:
            conn.execute(delete(free).where(free.c.id == row.id))
        else:
            conn.execute(update(free).where(free.c.id == row.id)
                         .values(first=key(int(row.first, 16) + 1)))
        self._record(conn, subnet, row.first)
        return unkey(row.first, subnet.ip_version)

    def release(self, conn: Connection, subnet: Subnet, address: str) -> None:
        a = int(parse_ip(address))
        gone = conn.execute(delete(taken).where(taken.c.subnet_id == subnet.id,
                                                taken.c.address == key(a)))
        if gone.rowcount and any(lo <= a <= hi for lo, hi in map(span, subnet.allocation_pools)):
            conn.execute(insert(free).values(subnet_id=subnet.id, first=key(a), last=key(a)))

    def remove(self, conn: Connection, subnet_id: str) -> None:
        conn.execute(delete(free).where(free.c.subnet_id == subnet_id))
        conn.execute(delete(taken).where(taken.c.subnet_id == subnet_id))

    def _lowest(self, conn: Connection, subnet_id: str, *, skip_locked: bool) -> Any:
        query = (select(free.c.id, free.c.first, free.c.last)
                 .where(free.c.subnet_id == subnet_id).order_by(free.c.first).limit(1)
                 .with_for_update(skip_locked=skip_locked))
        return conn.execute(query).first()

    def _take(self, conn: Connection, subnet: Subnet, address: int) -> None:
        """Take `address` out of the free range holding it (if one does), then
        record it: the record's key refuses an address held already."""
        k = key(address)
        row = conn.execute(select(free.c.id, free.c.first, free.c.last)
                           .where(free.c.subnet_id == subnet.id,
                                  and_(free.c.first <= k, free.c.last >= k))
                           .with_for_update()).first()
        if row is not None:
            conn.execute(delete(free).where(free.c.id == row.id))
            lo, hi = int(row.first, 16), int(row.last, 16)
            rest = [{"subnet_id": subnet.id, "first": key(a), "last": key(b)}
                    for a, b in ((lo, address - 1), (address + 1, hi)) if a <= b]
            if rest:
                conn.execute(insert(free), rest)
        self._record(conn, subnet, k)

    def _record(self, conn: Connection, subnet: Subnet, stored: str) -> None:
        try:
            with conn.begin_nested():
                conn.execute(insert(taken).values(subnet_id=subnet.id, address=stored))
        except IntegrityError:
            raise IpAddressAlreadyAllocated(
                f"IP address {unkey(stored, subnet.ip_version)} already allocated in subnet"
                f" {subnet.id}") from None


def _less(pool: tuple[int, int], held: list[int]) -> list[tuple[int, int]]:
    """The ranges of `pool` ([first, last]) without the addresses `held` (sorted)."""
    first, last = pool
    ranges = []
    for address in held:
        if first <= address <= last:
            if first < address:
                ranges.append((first, address - 1))
            first = address + 1
    if first <= last:
        ranges.append((first, last))
    return ranges
