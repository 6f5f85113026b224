"""IPAM's contract: the one small interface the service hands addresses out
through, as Neutron's pluggable IPAM driver (network.ipam_table is the one
implementation: pools drained from a table of free ranges).

Every method runs inside the caller's transaction (`conn`), so an address is
taken or given back together with the port that holds it, or not at all.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection

from network.resources import AllocationPool, Subnet


class IpamDriver(Protocol):
    def add_pools(self, conn: Connection, subnet: Subnet) -> None:
        """Make `subnet.allocation_pools` allocatable. Called once, when the
        subnet is made; its cost must not grow with the pools' size."""

    def set_pools(self, conn: Connection, subnet: Subnet) -> None:
        """Make `subnet.allocation_pools` (changed) the allocatable ones: free
        are then their addresses not allocated. Allocations outside them stay."""

    def pools(self, conn: Connection, subnet: Subnet) -> tuple[AllocationPool, ...]:
        """The addresses of the subnet still free, as ranges in address order."""

    def allocate(self, conn: Connection, subnet: Subnet, address: str = "") -> str:
        """Take `address`, or without one any free address of the pools, and
        answer it. Two transactions never get the same address. Raises
        IpAddressAlreadyAllocated when `address` is taken,
        IpAddressGenerationFailure when the pools are exhausted. `address`
        may lie outside the pools (inside the subnet: the service checks)."""

    def release(self, conn: Connection, subnet: Subnet, address: str) -> None:
        """Give `address` back (to the pools if it was in one). Idempotent."""

    def remove(self, conn: Connection, subnet_id: str) -> None:
        """Forget the subnet: its free ranges and allocations. Idempotent."""
