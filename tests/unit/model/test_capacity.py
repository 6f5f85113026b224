"""Capacity reports: per host, summed over a subtree, with flavors that fit."""

from __future__ import annotations

import pytest

from model.cells import CellCapacity, fits
from model.compute import HostInfo, Resources

SMALL = Resources(1, 2048, 20)
LARGE = Resources(8, 32768, 200)


@pytest.mark.parametrize(
    ("free", "flavor", "count"),
    [
        (Resources(16, 65536, 1000), SMALL, 16),  # vCPUs run out first
        (Resources(16, 4096, 1000), SMALL, 2),  # memory first
        (Resources(16, 65536, 30), SMALL, 1),  # disk first
        (Resources(7, 65536, 1000), LARGE, 0),
        (Resources(16, 8192, 0), Resources(1, 1024, 0), 8),  # no disk asked
        (Resources(-1, 100, 10), SMALL, 0),  # over-committed host: none
    ],
    ids=["cpu-bound", "ram-bound", "disk-bound", "too-small", "diskless-flavor", "overcommitted"],
)
def test_fits(free: Resources, flavor: Resources, count: int) -> None:
    assert fits(free, flavor) == count


def test_subtree_sums_per_host_counts_not_pooled_resources() -> None:
    flavors = {"large": LARGE, "small": SMALL}
    # Two hosts with 4 free vCPUs each: 8 in all, yet no "large" fits anywhere.
    hosts = [HostInfo(f"h{n}", Resources(8, 65536, 1000), Resources(4, 0, 0)) for n in range(2)]
    parts = [CellCapacity.of_host(h, flavors) for h in hosts]
    total = CellCapacity.combine(parts)
    assert dict(total.flavor_fits) == {"large": 0, "small": 8}
    assert total.free.vcpus == 8
    assert total.largest_free == Resources(4, 65536, 1000)


def test_a_down_host_offers_nothing() -> None:
    down = HostInfo("h", Resources(8, 8192, 100), alive=False)
    capacity = CellCapacity.of_host(down, {"small": SMALL})
    assert capacity.hosts_up == 0
    assert dict(capacity.flavor_fits) == {"small": 0}
    assert capacity.largest_free == Resources()


def test_combining_cells_adds_their_counts() -> None:
    a = CellCapacity(hosts=1, flavor_fits=(("small", 3),))
    b = CellCapacity(hosts=2, flavor_fits=(("large", 1), ("small", 4)))
    assert CellCapacity.combine([a, b]).flavor_fits == (("large", 1), ("small", 7))


def test_combining_cells_adds_their_instances_by_state() -> None:
    a = CellCapacity(states=(("ACTIVE", 3), ("PAUSED", 1)))
    b = CellCapacity(states=(("ACTIVE", 2), ("STOPPED", 4)))
    assert CellCapacity.combine([a, b]).states == (("ACTIVE", 5), ("PAUSED", 1), ("STOPPED", 4))


def test_agents_are_summed() -> None:
    """(What a sum offers a placement: tests/unit/routing/test_candidates.py.)"""
    a = CellCapacity(agents=(("loadbalancer/", 2), ("loadbalancer/haproxy", 2)))
    b = CellCapacity(agents=(("loadbalancer/", 1), ("loadbalancer/octavia", 1), ("vpn/", 1)))
    both = CellCapacity.combine([a, b])
    assert dict(both.agents) == {"loadbalancer/": 3, "loadbalancer/haproxy": 2,
                                 "loadbalancer/octavia": 1, "vpn/": 1}
