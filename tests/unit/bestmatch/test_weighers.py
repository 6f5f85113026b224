"""Tests for the standard weighers, the filter_weigher selector that uses them,
and the spread of the random selector; a contract test over every weigher
registered in the cellrouter.weighers group."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from bestmatch.api import HostState, RequestSpec, Weigher
from bestmatch.plugins import WEIGHERS, installed
from bestmatch.selectors import FilterWeigherSelector, RandomSelector
from bestmatch.weighers.instances import InstanceCountWeigher
from bestmatch.weighers.ram import RamWeigher
from bestmatch.weighers.vcpu import VcpuWeigher
from model.compute import Resources

ASK = RequestSpec(Resources(2, 4096, 20))
TOTAL = Resources(16, 65536, 500)


def host(name: str, used: Resources | None = None, instances: int = 0) -> HostState:
    return HostState(name, total=TOTAL, used=used or Resources(), instances=instances)


# Three hosts that all fit ASK: the emptier a host, the fewer instances it holds.
EMPTY = host("empty")
HALF = host("half", Resources(8, 32768, 250), instances=4)
FULL = host("full", Resources(14, 61440, 480), instances=7)
HOSTS = [EMPTY, HALF, FULL]


@pytest.mark.parametrize(
    ("weigher", "expected"),
    [
        (RamWeigher(), [65536.0, 32768.0, 4096.0]),
        (VcpuWeigher(), [16.0, 8.0, 2.0]),
        (InstanceCountWeigher(), [0.0, 4.0, 7.0]),
    ],
    ids=["ram-free-mb", "vcpu-free", "instances-held"],
)
def test_raw_scores(weigher: Weigher, expected: list[float]) -> None:
    # Raw, not normalised: normalising is the pipeline's job.
    assert list(weigher.scores(HOSTS, ASK)) == expected


@pytest.mark.parametrize(
    "weigher", [RamWeigher(), VcpuWeigher(), InstanceCountWeigher()],
    ids=["ram", "vcpu", "instances"],
)
def test_no_candidates_no_scores(weigher: Weigher) -> None:
    assert list(weigher.scores([], ASK)) == []


def test_cell_scored_by_subtree_free_not_room() -> None:
    cell = HostState("eu-a", "top!eu!eu-a", total=TOTAL, used=Resources(4, 16384, 0),
                     largest_free=Resources(2, 8192, 50))
    assert RamWeigher().scores([cell], ASK) == [49152.0]
    assert VcpuWeigher().scores([cell], ASK) == [12.0]


@pytest.mark.parametrize(
    ("weigher", "multiplier", "expected"),
    [
        (RamWeigher(), 1.0, "empty"),
        (RamWeigher(), -1.0, "full"),
        (VcpuWeigher(), 1.0, "empty"),
        (VcpuWeigher(), -1.0, "full"),
        # Instance counts run the other way: a negative multiplier spreads.
        (InstanceCountWeigher(), -1.0, "empty"),
        (InstanceCountWeigher(), 1.0, "full"),
    ],
    ids=["ram-spread", "ram-pack", "vcpu-spread", "vcpu-pack", "instances-spread",
         "instances-pack"],
)
def test_multiplier_sign_picks_spread_or_pack(
    weigher: Weigher, multiplier: float, expected: str
) -> None:
    # With subset_size=1 the best is always chosen, whatever the order offered.
    for seed, order in enumerate(itertools.permutations(HOSTS)):
        selector = FilterWeigherSelector(weighers=[(weigher, multiplier)], subset_size=1,
                                         seed=seed)
        for _ in range(5):
            sel = selector.select(order, ASK)
            assert sel.chosen is not None and sel.chosen.name == expected
            assert sorted(c.name for c in sel.ordered) == ["empty", "full", "half"]


def test_weighers_add_up() -> None:
    # RAM spreads with weight 1, instances pack with weight 3: packing wins.
    selector = FilterWeigherSelector(
        weighers=[(RamWeigher(), 1.0), (InstanceCountWeigher(), 3.0)], seed=0
    )
    assert [c.name for c in selector.select(HOSTS, ASK).ordered] == ["full", "half", "empty"]


def test_filtered_out_host_is_not_weighed() -> None:
    # The emptiest host is down: spread picks the emptiest of the rest.
    down = HostState("down", total=TOTAL, alive=False)
    selector = FilterWeigherSelector(weighers=[(RamWeigher(), 1.0)], seed=0)
    sel = selector.select([down, *HOSTS], ASK)
    assert [c.name for c in sel.ordered] == ["empty", "half", "full"]
    assert sel.rejected == {"alive": 1}


def test_random_selector_spreads_evenly() -> None:
    hosts = [host(f"h{i}") for i in range(10)]
    selector = RandomSelector(seed=2024)
    picks: Counter[str] = Counter()
    for _ in range(5000):
        chosen = selector.select(hosts, ASK).chosen
        assert chosen is not None
        picks[chosen.name] += 1
    assert set(picks) == {h.name for h in hosts}
    for name, count in sorted(picks.items()):
        assert 400 <= count <= 600, f"{name} chosen {count} times of 5000"


WEIGHER_NAMES = sorted(installed(WEIGHERS))


def test_every_standard_weigher_is_registered() -> None:
    assert {"ram", "vcpu", "instances"} <= set(WEIGHER_NAMES)


@pytest.mark.parametrize("name", WEIGHER_NAMES, ids=WEIGHER_NAMES)
def test_registered_weigher_contract(name: str) -> None:
    factory = installed(WEIGHERS)[name].load()
    assert factory.name == name
    weigher = factory()
    assert weigher.name == name
    candidates = [*HOSTS, HostState("plain")]
    scores = list(weigher.scores(candidates, ASK))
    assert len(scores) == len(candidates)
    assert all(isinstance(s, float) for s in scores)
