"""A router sends a boot that must be beside instances it knows (same_host,
an affinity group with members) to the child holding them (routing.near)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bestmatch.api import RequestSpec
from bestmatch.selectors import RandomSelector
from model.call import Call
from model.compute import Resources
from model.errors import ResourceExhausted
from routing.candidates import as_candidate
from routing.near import soft_members
from tests.unit.routing.router_tree import Tree, boot_into, run, spec


def test_same_host_goes_to_the_child_holding_the_instance(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        there = await boot_into(t, "b")
        tried = len(t.kids["a"].calls("boot"))
        beside = await t.router.boot(replace(spec(), hints=(("same_host", there),)), Call())
        assert beside.cell_path == "top!b"  # the selector alone would take a first
        assert len(t.kids["a"].calls("boot")) == tried  # a was never asked
        apart = await t.router.boot(replace(spec(), hints=(("different_host", there),)), Call())
        assert apart.cell_path == "top!a"  # another child: another host
        unknown = "00000000-0000-4000-8000-00000000abcd"
        with pytest.raises(ResourceExhausted, match="same_host"):
            await t.router.boot(replace(spec(), hints=(("same_host", unknown),)), Call())

    run(tmp_path, body)


def test_an_affinity_groups_later_members_follow_the_first(tmp_path: Path) -> None:
    group = (("group", "acme:g1"), ("group_policy", "affinity"))

    async def body(t: Tree) -> None:
        t.kids["a"].full = True
        first = await t.router.boot(
            replace(spec(), hints=(*group, ("group_members", "0"))), Call())
        t.kids["a"].full = False
        second = await t.router.boot(
            replace(spec(), hints=(*group, ("group_members", "1"))), Call())
        assert first.cell_path == second.cell_path == "top!b"
        anti = (("group", "acme:g2"), ("group_policy", "anti-affinity"),
                ("group_members", "1"))
        elsewhere = await t.router.boot(replace(spec(), hints=anti), Call())
        assert elsewhere.cell_path == "top!a"  # nothing narrows an anti-affinity group

    run(tmp_path, body)


def test_a_soft_group_weighs_the_children_holding_members(tmp_path: Path) -> None:
    """A router narrows nothing for a soft group: it tells the selector which
    children hold members, and the standard selectors prefer them (soft
    affinity) or the others (soft anti-affinity)."""
    together = (("group", "acme:g3"), ("group_policy", "soft-affinity"))

    async def body(t: Tree) -> None:
        t.kids["a"].full = True
        first = await t.router.boot(replace(spec(), hints=(*together, ("group_members", "0"))),
                                    Call())
        t.kids["a"].full = False
        assert first.cell_path == "top!b"
        later = dict((*together, ("group_members", "1")))
        members = soft_members(later, t.index)
        assert members == {"b": {"acme:g3": 1}}
        candidates = [as_candidate(c, members.get(c.name)) for c in t.children]
        apart = later | {"group_policy": "soft-anti-affinity"}
        for seed in range(10):
            chosen = RandomSelector(seed=seed).select(
                candidates, RequestSpec(Resources(1, 512), hints=later))
            assert [c.name for c in chosen.ordered] == ["b", "a"]
            chosen = RandomSelector(seed=seed).select(
                candidates, RequestSpec(Resources(1, 512), hints=apart))
            assert [c.name for c in chosen.ordered] == ["a", "b"]
        assert soft_members(later | {"group_policy": "affinity"}, t.index) == {}
        assert soft_members(later | {"group_members": "0"}, t.index) == {}  # the first

    run(tmp_path, body)
