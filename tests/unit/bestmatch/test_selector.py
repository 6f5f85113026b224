"""Tests for bestmatch.selectors and bestmatch.filters."""

from __future__ import annotations

from collections import Counter

import pytest

from bestmatch.api import HostState, RequestSpec, Selection
from bestmatch.filters import (
    AliveFilter,
    DiskFilter,
    RamFilter,
    VcpuFilter,
    default_filters,
)
from bestmatch.pipeline import run_filters
from bestmatch.selectors import RandomSelector
from model.compute import Resources

ASK = RequestSpec(Resources(2, 4096, 20))


def host(name: str, vcpus: int = 8, memory_mb: int = 16384, disk_gb: int = 100,
         alive: bool = True, used: Resources | None = None) -> HostState:
    return HostState(name, total=Resources(vcpus, memory_mb, disk_gb),
                     used=used or Resources(), alive=alive)


FITS = [host("fit-1"), host("fit-2", 2, 4096, 20), host("fit-3", used=Resources(6, 12288, 80))]
MISFITS = {
    "dead": host("dead", alive=False),
    "small-ram": host("small-ram", memory_mb=4095),
    "small-vcpu": host("small-vcpu", vcpus=1),
    "small-disk": host("small-disk", disk_gb=19),
    "used-up": host("used-up", used=Resources(7, 0, 0)),
}


def test_only_fitting_candidates_each_exactly_once() -> None:
    candidates = [*FITS, *MISFITS.values()]
    sel = RandomSelector(seed=1).select(candidates, ASK)
    names = [c.name for c in sel.ordered]
    assert sorted(names) == ["fit-1", "fit-2", "fit-3"]
    assert len(names) == len(set(names))
    assert sel.chosen is not None and sel.chosen.name == names[0]
    assert sel.considered == len(candidates)
    assert sel.rejected == {"alive": 1, "ram": 1, "vcpu": 2, "disk": 1}


@pytest.mark.parametrize("name", sorted(MISFITS), ids=sorted(MISFITS))
def test_each_misfit_is_rejected(name: str) -> None:
    sel = RandomSelector(seed=0).select([MISFITS[name]], ASK)
    assert sel.ordered == ()
    assert sel.chosen is None
    assert sum(sel.rejected.values()) == 1


def test_rejection_charged_to_first_filter_only() -> None:
    # Down and too small in every way: only 'alive' is charged.
    hopeless = host("hopeless", 1, 1, 1, alive=False)
    # Alive, too little ram and too few vcpus: only 'ram' is charged.
    small = host("small", 1, 1, 100)
    found = run_filters(default_filters(), [hopeless, small], ASK)
    passed, rejected = found.passed, found.rejected
    assert passed == []
    assert rejected == Counter({"alive": 1, "ram": 1})


def test_filter_order_decides_the_charge() -> None:
    small = host("small", 1, 1, 100)
    rejected = run_filters([VcpuFilter(), RamFilter()], [small], ASK).rejected
    assert rejected == Counter({"vcpu": 1})


@pytest.mark.parametrize(
    ("filt", "candidate", "detail"),
    [
        (AliveFilter(), host("d", alive=False), "down"),
        (RamFilter(), host("r", memory_mb=1024), "1024 MB free, 4096 MB asked"),
        (VcpuFilter(), host("v", vcpus=1), "1 vCPUs free, 2 vCPUs asked"),
        (DiskFilter(), host("k", disk_gb=5), "5 GB free, 20 GB asked"),
    ],
    ids=["alive", "ram", "vcpu", "disk"],
)
def test_filter_verdicts(filt: object, candidate: HostState, detail: str) -> None:
    verdict = filt.check(candidate, ASK)  # type: ignore[attr-defined]
    assert not verdict.passed
    assert verdict.reason == filt.name  # type: ignore[attr-defined]
    assert verdict.detail == detail
    assert filt.check(host("ok"), ASK).passed  # type: ignore[attr-defined]


def test_explain_counts_rejections() -> None:
    candidates = [host("a", memory_mb=1), host("b", memory_mb=1), host("c")]
    sel = RandomSelector(seed=0).select(candidates, ASK)
    assert [c.name for c in sel.ordered] == ["c"]
    assert "ram: 2 of 3 hosts" in sel.explain("hosts")


def test_explain_orders_by_count_then_name() -> None:
    candidates = [host("a", alive=False), host("b", disk_gb=1), host("c", disk_gb=1),
                  host("d", vcpus=1)]
    sel = RandomSelector(seed=0).select(candidates, ASK)
    assert sel.explain("cells") == "disk: 2 of 4 cells, alive: 1 of 4 cells, vcpu: 1 of 4 cells"


def test_explain_when_nothing_rejected_or_nothing_offered() -> None:
    assert RandomSelector(seed=0).select(FITS, ASK).explain() == "all 3 candidates passed"
    empty = RandomSelector(seed=0).select([], ASK)
    assert empty.explain("hosts") == "no hosts to choose from"


def test_empty_candidates_give_empty_selection() -> None:
    sel = RandomSelector(seed=3).select([], ASK)
    assert sel == Selection((), 0, Counter())
    assert sel.chosen is None


def test_cell_candidate_uses_largest_free() -> None:
    # A cell with lots free in total but no single host able to take the request.
    cell = HostState("eu-a", "top!eu!eu-a", total=Resources(64, 262144, 2000),
                     used=Resources(), largest_free=Resources(1, 2048, 10))
    assert cell.room == Resources(1, 2048, 10)
    assert cell.free.covers(ASK.flavor)
    sel = RandomSelector(seed=0).select([cell], ASK)
    assert sel.ordered == ()
    assert sel.rejected == {"ram": 1}
    roomy = HostState("eu-b", "top!eu!eu-b", total=Resources(4, 8192, 40),
                      used=Resources(2, 4096, 20), largest_free=Resources(2, 4096, 20))
    assert [c.name for c in RandomSelector(seed=0).select([cell, roomy], ASK).ordered] == [
        "eu-b"
    ]


def test_host_room_is_free_without_largest_free() -> None:
    h = host("h", used=Resources(1, 1024, 10))
    assert h.room == h.free == Resources(7, 15360, 90)


def test_seeded_choice_spreads_and_is_reproducible() -> None:
    candidates = [host(f"h{i}") for i in range(5)]
    selector = RandomSelector(seed=42)
    chosen = []
    for _ in range(200):
        sel = selector.select(candidates, ASK)
        assert sorted(c.name for c in sel.ordered) == [f"h{i}" for i in range(5)]
        assert sel.chosen is not None
        chosen.append(sel.chosen.name)
    assert len(set(chosen)) >= 2
    again = RandomSelector(seed=42)
    assert [again.select(candidates, ASK).chosen.name for _ in range(200)] == chosen  # type: ignore[union-attr]


def test_select_does_not_reorder_the_callers_list() -> None:
    candidates = [host(f"h{i}") for i in range(6)]
    before = list(candidates)
    RandomSelector(seed=7).select(candidates, ASK)
    assert candidates == before


def test_custom_filters_replace_defaults() -> None:
    # With no filters everything passes, even a dead host.
    sel = RandomSelector(filters=[], seed=0).select([host("dead", alive=False)], ASK)
    assert [c.name for c in sel.ordered] == ["dead"]
    assert sel.explain() == "all 1 candidates passed"


@pytest.mark.parametrize(
    ("candidates", "enough"),
    [(10, 100), (1_000, 100), (4_000, 200), (10_000, 500), (100_000, 500)],
    ids=["tiny", "small", "medium", "large", "huge"],
)
def test_sampling_wants_a_fraction_within_bounds(candidates: int, enough: int) -> None:
    from bestmatch.pipeline import Sampling

    assert Sampling().enough(candidates) == enough


def test_sampling_stops_early_from_a_random_start() -> None:
    from bestmatch.pipeline import Sampling
    from bestmatch.selectors import FilterWeigherSelector

    many = [host(f"h{n}") for n in range(1_000)]
    chosen = FilterWeigherSelector(sampling=Sampling(minimum=10, fraction=0.0, maximum=10),
                                   seed=3).select(many, ASK)
    assert len(chosen.ordered) == 10 and chosen.considered == 10 and chosen.total == 1_000
    starts = {FilterWeigherSelector(sampling=Sampling(10, 0.0, 10), seed=s).select(many, ASK)
              .ordered[0].name for s in range(20)}
    assert len(starts) > 5  # not always the first hosts of the list


def test_random_order_is_a_permutation_drawn_lazily() -> None:
    import random

    from bestmatch.pipeline import random_order

    rng = random.Random(5)
    for count in (0, 1, 2, 7, 100):
        assert sorted(random_order(count, rng)) == list(range(count))
    firsts = Counter(next(random_order(4, rng)) for _ in range(4000))
    assert set(firsts) == {0, 1, 2, 3} and min(firsts.values()) > 800


def test_random_stops_at_the_first_fit_and_a_few_alternates() -> None:
    many = [host(f"h{n}") for n in range(10_000)]
    sel = RandomSelector(seed=9).select(many, ASK)
    assert len(sel.ordered) == 5 and sel.considered == 5 and sel.total == 10_000
    one = RandomSelector(seed=9, alternates=0).select(many, ASK)
    assert len(one.ordered) == 1 and one.considered == 1


def test_random_is_uniform_over_the_feasible_and_never_picks_a_misfit() -> None:
    """Chi-square over 12 feasible hosts scattered among 36 misfits, 12,000 picks:
    the statistic stays under the 0.999 quantile for 11 degrees of freedom
    (31.26) unless the choice is biased (a fixed seed keeps the run reproducible)."""
    misfits = [host(f"small-{n}", memory_mb=1024) for n in range(36)]
    feasible = [host(f"fit-{n}") for n in range(12)]
    candidates = [*misfits[:10], *feasible[:3], *misfits[10:30], *feasible[3:], *misfits[30:]]
    selector = RandomSelector(seed=11)
    picks: Counter[str] = Counter()
    for _ in range(12_000):
        chosen = selector.select(candidates, ASK).chosen
        assert chosen is not None
        picks[chosen.name] += 1
    assert set(picks) == {h.name for h in feasible}
    expected = 12_000 / 12
    chi_square = sum((n - expected) ** 2 / expected for n in picks.values())
    assert chi_square < 31.26, picks
