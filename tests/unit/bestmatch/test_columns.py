"""The column stages decide exactly as the stage-by-stage pipeline does, over
random hosts (down, disabled, full, cells with a largest free), with standard
filters and weighers, plugins among them, and sampling; and with sampling a
decision reads about as many rows as it keeps, however large the table."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from bestmatch.api import Filter, HostState, RequestSpec, Verdict, Weigher
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
# Fits about 1 host in 100 of `hosts()`: a sample of 10 is not found in one run.
BIG_ASK = RequestSpec(Resources(24, 49152, 20), hints={"availability_zone": "az1"})


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
@pytest.mark.parametrize(("count", "ask"), [(300, ASK), (1_000, BIG_ASK)],
                         ids=["most-fit", "few-fit"])
@pytest.mark.parametrize("seed", range(4))
def test_columns_decide_as_the_pipeline_does(sampling: Sampling | None, plugin: bool,
                                             count: int, ask: RequestSpec, seed: int) -> None:
    made = hosts(count, seed)
    filters = [*default_filters(), *([AvailabilityZoneFilter()] if plugin else [])]
    by_rows = FilterWeigherSelector(filters, WEIGHERS, sampling=sampling, seed=seed)
    by_columns = FilterWeigherSelector(filters, WEIGHERS, sampling=sampling, seed=seed)
    for _ in range(3):
        a = by_rows.select(made, ask)
        b = by_columns.select(HostTable(made), ask)
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


def few_fit() -> list[HostState]:
    """1,000 hosts: the odd ones down, the even ones full of vCPUs but for
    h0, h250, h500 and h750."""
    made = []
    for n in range(1_000):
        full = n % 2 == 0 and n % 250 != 0
        made.append(HostState(f"h{n}", total=Resources(8, 16384, 100), alive=n % 2 == 0,
                              used=Resources(7, 0, 0) if full else Resources()))
    return made


@pytest.mark.parametrize("kind", [list, HostTable], ids=["list", "table"])
@pytest.mark.parametrize("seed", range(3))
def test_when_the_sample_finds_too_few_every_host_is_examined_and_explained(
        kind: Callable[[list[HostState]], Sequence[HostState]], seed: int) -> None:
    selector = FilterWeigherSelector(weighers=WEIGHERS, sampling=Sampling(10, 0.0, 10),
                                     seed=seed)
    chosen = selector.select(kind(few_fit()), RequestSpec(Resources(2, 4096, 20)))
    assert sorted(h.name for h in chosen.ordered) == ["h0", "h250", "h500", "h750"]
    assert (chosen.considered, chosen.total) == (1_000, 1_000)
    assert chosen.explain("hosts") == "alive: 500 of 1000 hosts, vcpu: 496 of 1000 hosts"


class ReadCount:
    """How many elements a decision read from the arrays of a table."""

    def __init__(self) -> None:
        self.elements = 0


class CountedArray(np.ndarray):
    """An array of a `CountedTable` that counts every element read from it,
    however it is read (indexed, in arithmetic, by a numpy function, as a
    list); what it gives back is a plain array."""

    count: ReadCount

    def _plain(self, value: Any) -> Any:
        if isinstance(value, CountedArray):
            value.count.elements += value.size
            return value.view(np.ndarray)
        if isinstance(value, list | tuple):
            return type(value)(self._plain(v) for v in value)
        return value

    def __getitem__(self, key: Any) -> Any:
        out = self.view(np.ndarray)[key]
        self.count.elements += out.size if isinstance(out, np.ndarray) else 1
        return out

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return getattr(ufunc, method)(*self._plain(inputs), **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return func(*self._plain(args), **{k: self._plain(v) for k, v in kwargs.items()})

    def tolist(self) -> Any:
        return self._plain(self).tolist()


class CountedTable(HostTable):
    """A HostTable whose arrays (its columns and its rows) count what is read."""

    def __init__(self, made: Sequence[HostState]) -> None:
        super().__init__(made)
        self.reads = ReadCount()
        for name, value in list(vars(self).items()):
            if isinstance(value, np.ndarray):
                counted = value.view(CountedArray)
                counted.count = self.reads
                setattr(self, name, counted)


class CountingFilter:
    """A plugin filter (no columns) that counts the hosts it is asked about."""

    def __init__(self, inner: Filter) -> None:
        self.inner, self.name, self.calls = inner, inner.name, 0

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        self.calls += 1
        return self.inner.check(candidate, spec)


def test_a_counted_table_counts_a_whole_column_and_decides_as_a_table() -> None:
    made = hosts(300, 1)
    table = CountedTable(made)
    assert [h.name for h in table] == [h.name for h in made]
    assert table.reads.elements == 300
    table.reads.elements = 0
    _ = table.alive & table.enabled
    assert table.reads.elements == 600
    a = FilterWeigherSelector(weighers=WEIGHERS, sampling=Sampling(10, 0.0, 10), seed=1)
    b = FilterWeigherSelector(weighers=WEIGHERS, sampling=Sampling(10, 0.0, 10), seed=1)
    assert a.select(table, ASK) == b.select(HostTable(made), ASK)


@pytest.mark.parametrize("size", [5_000, 20_000], ids=["5k-hosts", "20k-hosts"])
def test_a_sampled_decision_reads_about_the_sample_however_large_the_table(size: int) -> None:
    """Reading every row once, of one column only, would be `size` elements;
    a decision that keeps 20 hosts reads at most 3,000 at any size (about
    650 on average: five columns of the rows examined, three of those kept,
    and the kept rows), and asks a plugin filter about at most 200."""
    table = CountedTable(hosts(size, 7))
    zone = CountingFilter(AvailabilityZoneFilter())
    selector = FilterWeigherSelector([*default_filters(), zone], WEIGHERS,
                                     sampling=Sampling(20, 0.0, 20), seed=7)
    for _ in range(5):
        table.reads.elements = zone.calls = 0
        chosen = selector.select(table, ASK)
        assert len(chosen.ordered) == 20 and chosen.total == size
        assert table.reads.elements <= 150 * 20
        assert zone.calls <= 10 * 20
