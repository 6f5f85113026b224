"""The column stages decide exactly as the stage-by-stage pipeline does, over
random hosts (down, disabled, full, cells with a largest free), with standard
filters and weighers, plugins among them, and sampling."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from bestmatch.api import HostState, RequestSpec, Weigher
from bestmatch.filters import default_filters
from bestmatch.filters.availability_zone import AvailabilityZoneFilter
from bestmatch.pipeline import Sampling
from bestmatch.selectors import FilterWeigherSelector
from bestmatch.table import HostTable
from bestmatch.weighers.instances import InstanceCountWeigher
from bestmatch.weighers.ram import RamWeigher
from bestmatch.weighers.vcpu import VcpuWeigher
from model.compute import Resources

ASK = RequestSpec(Resources(2, 4096, 20), hints={"availability_zone": "az1"})


def hosts(count: int, seed: int) -> list[HostState]:
    rng = random.Random(seed)
    made = []
    for n in range(count):
        total = Resources(rng.choice((8, 16, 32)), rng.choice((16384, 65536)), 500)
        used = Resources(rng.randrange(total.vcpus), rng.randrange(total.memory_mb),
                         rng.randrange(400))
        cell = rng.random() < 0.2
        made.append(HostState(
            f"h{n}", total=total, used=used, alive=rng.random() > 0.05,
            enabled=rng.random() > 0.05, instances=rng.randrange(40),
            availability_zone=rng.choice(("az1", "az2")),
            largest_free=Resources(rng.randrange(8), rng.randrange(9000), 100) if cell else None))
    return made


class FreeDiskWeigher:
    """A plugin weigher (no columns): free disk."""

    name = "free_disk"

    def scores(self, candidates: Sequence[HostState], spec: RequestSpec) -> list[float]:
        return [float(c.free.disk_gb) for c in candidates]


WEIGHERS: list[tuple[Weigher, float]] = [
    (RamWeigher(), 1.0), (VcpuWeigher(), 0.5), (InstanceCountWeigher(), -1.0),
    (FreeDiskWeigher(), 0.25)]


@pytest.mark.parametrize("sampling", [None, Sampling(10, 0.0, 10)], ids=["all", "sampled"])
@pytest.mark.parametrize("plugin", [False, True], ids=["standard", "with-plugin-filter"])
@pytest.mark.parametrize("seed", range(4))
def test_columns_decide_as_the_pipeline_does(sampling: Sampling | None, plugin: bool,
                                             seed: int) -> None:
    made = hosts(300, seed)
    filters = [*default_filters(), *([AvailabilityZoneFilter()] if plugin else [])]
    by_rows = FilterWeigherSelector(filters, WEIGHERS, sampling=sampling, seed=seed)
    by_columns = FilterWeigherSelector(filters, WEIGHERS, sampling=sampling, seed=seed)
    for _ in range(3):
        a = by_rows.select(made, ASK)
        b = by_columns.select(HostTable(made), ASK)
        assert [h.name for h in b.ordered] == [h.name for h in a.ordered]
        assert (b.considered, dict(b.rejected), b.total) == (a.considered, dict(a.rejected),
                                                           a.total)
        assert a.ordered  # the case is not vacuous


def test_a_claim_updates_its_row_and_the_next_decision_sees_it() -> None:
    table = HostTable([HostState("small", total=Resources(4, 8192, 100)),
                       HostState("big", total=Resources(64, 262144, 1000))])
    table.place("small", Resources(3, 6144, 50), groups={"g": 1},
                instance_uuids=frozenset({"u1"}))
    row = table[0]
    assert (row.used, row.instances, row.groups, row.instance_uuids) == (
        Resources(3, 6144, 50), 1, {"g": 1}, frozenset({"u1"}))
    assert table.room[0].tolist() == [1, 2048, 50]
    chosen = FilterWeigherSelector(weighers=[(RamWeigher(), 1.0)]).select(table, ASK)
    assert [h.name for h in chosen.ordered] == ["big"]
    assert dict(chosen.rejected) == {"ram": 1}
