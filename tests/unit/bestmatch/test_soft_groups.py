"""Soft server-group policies (bestmatch.soft_groups): both standard selectors,
over rows and over a HostTable's columns, put the hosts that best keep a
group together or apart first, and place the instance anyway when none can."""

from __future__ import annotations

from typing import Any

import pytest

from bestmatch.api import HostState, RequestSpec
from bestmatch.selectors import FilterWeigherSelector, RandomSelector
from bestmatch.soft_groups import soft_first
from bestmatch.table import HostTable
from bestmatch.weighers.instances import InstanceCountWeigher
from bestmatch.weighers.ram import RamWeigher
from model.compute import Resources

ROOMY = Resources(8, 16384, 100)


def host(name: str, members: int = 0, **fields: Any) -> HostState:
    fields.setdefault("total", ROOMY)
    return HostState(name, groups={"g": members} if members else {}, **fields)


def ask(policy: str, group: str = "g") -> RequestSpec:
    return RequestSpec(Resources(2, 4096, 20), hints={"group": group, "group_policy": policy})


HOSTS = [host("none-1"), host("two", 2), host("none-2"), host("one", 1), host("none-3")]
FULL = Resources(8, 16384, 100)


def selectors(seed: int) -> list[Any]:
    """The standard selectors, the weigher one preferring the emptiest hosts."""
    return [RandomSelector(seed=seed),
            FilterWeigherSelector(weighers=[(InstanceCountWeigher(), -1.0)], seed=seed,
                                  subset_size=3)]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("columns", [False, True], ids=["rows", "columns"])
def test_soft_affinity_prefers_the_host_with_most_members(seed: int, columns: bool) -> None:
    for selector in selectors(seed):
        candidates = HostTable(HOSTS) if columns else HOSTS
        chosen = selector.select(candidates, ask("soft-affinity")).ordered
        assert [h.name for h in chosen[:2]] == ["two", "one"], (selector.name, chosen)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("columns", [False, True], ids=["rows", "columns"])
def test_soft_anti_affinity_prefers_hosts_without_members(seed: int, columns: bool) -> None:
    for selector in selectors(seed):
        candidates = HostTable(HOSTS) if columns else HOSTS
        chosen = selector.select(candidates, ask("soft-anti-affinity")).ordered
        assert chosen[0].name.startswith("none-"), (selector.name, chosen)
        members = [h.groups.get("g", 0) for h in chosen]
        assert members == sorted(members)  # the alternates in order of members too


@pytest.mark.parametrize("columns", [False, True], ids=["rows", "columns"])
def test_a_soft_group_is_placed_even_where_no_host_keeps_it_apart(columns: bool) -> None:
    rows = [host("a", 1), host("b", 3), host("c", 2, used=FULL)]  # c: no room
    crowded = HostTable(rows) if columns else rows
    for selector in selectors(0):
        chosen = selector.select(crowded, ask("soft-anti-affinity"))
        assert [h.name for h in chosen.ordered] == ["a", "b"], selector.name
        assert dict(chosen.rejected) == {"ram": 1}


@pytest.mark.parametrize("columns", [False, True], ids=["rows", "columns"])
def test_soft_affinity_goes_where_the_filters_allow_when_the_members_host_is_full(
        columns: bool) -> None:
    rows = [host("members", 2, used=FULL), host("empty")]
    candidates = HostTable(rows) if columns else rows
    for selector in selectors(0):
        assert [h.name for h in selector.select(candidates, ask("soft-affinity")).ordered] == [
            "empty"]


@pytest.mark.parametrize("columns", [False, True], ids=["rows", "columns"])
def test_the_weigher_selectors_random_subset_stays_in_the_best_tier(columns: bool) -> None:
    """subset_size 3 picks among the top three by weight, but only two hosts
    hold no member: the pick is one of them every time."""
    rows = [host("big-with-member", 1, total=Resources(64, 262144, 1000)),
            host("free-a"), host("free-b"), host("member-b", 1)]
    candidates = HostTable(rows) if columns else rows
    picked = {FilterWeigherSelector(weighers=[(RamWeigher(), 1.0)], subset_size=3,
                                    seed=seed).select(candidates, ask("soft-anti-affinity"))
              .ordered[0].name for seed in range(40)}
    assert picked == {"free-a", "free-b"}


@pytest.mark.parametrize("policy", ["affinity", "anti-affinity", "", "soft-sometimes"])
def test_other_policies_and_other_groups_leave_the_order_alone(policy: str) -> None:
    assert soft_first(HOSTS, ask(policy)) == (HOSTS, len(HOSTS))
    assert soft_first(HOSTS, ask("soft-affinity", group="other"))[0] == HOSTS
    assert soft_first([], ask("soft-affinity")) == ([], 0)


@pytest.mark.parametrize("columns", [False, True], ids=["rows", "columns"])
def test_without_a_soft_policy_random_still_stops_at_the_first_fits(columns: bool) -> None:
    rows = [host(f"h{n}") for n in range(200)]
    many = HostTable(rows) if columns else rows
    plain = RandomSelector(seed=1).select(many, RequestSpec(Resources(2, 4096, 20)))
    soft = RandomSelector(seed=1).select(many, ask("soft-affinity"))
    assert plain.considered == 5 and soft.considered == 200
    assert len(plain.ordered) == len(soft.ordered) == 5


def test_a_claim_marks_its_row_as_holding_group_members() -> None:
    table = HostTable([host("a"), host("b")])
    assert table.grouped.tolist() == [False, False]
    table.place("b", Resources(1, 512, 1), groups={"g": 1})
    assert table.grouped.tolist() == [False, True]
    chosen = RandomSelector(seed=3).select(table, ask("soft-affinity"))
    assert [h.name for h in chosen.ordered] == ["b", "a"]
