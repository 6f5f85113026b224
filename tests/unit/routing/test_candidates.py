"""Tests for routing.candidates: children as the selector's candidates, and the
one try-the-next loop that boots and service objects share."""

from __future__ import annotations

import asyncio

import pytest

from bestmatch.api import RequestSpec
from bestmatch.filters.capability import CapabilityFilter
from model.cells import CellCapacity, CellKind
from model.compute import Resources
from model.errors import InvalidArgument, ResourceExhausted
from routing.candidates import as_candidate, in_turn
from routing.children import Child


class Top:
    path = "top"


def child(name: str, **capacity: object) -> Child:
    return Child(name, Top(), f"fake:{name}", CellKind.LEAF, ("pause", "stop"),
                 CellCapacity(**capacity))  # type: ignore[arg-type]


def test_a_child_offers_its_actions_and_the_agents_below_it() -> None:
    lb = as_candidate(child("lb", agents=(("loadbalancer/", 2), ("loadbalancer/haproxy", 1),
                                           ("vpn/", 0))))
    assert lb.capabilities == {"pause", "stop", "loadbalancer/", "loadbalancer/haproxy"}
    wanted = RequestSpec(Resources(), needs=frozenset({"loadbalancer/",
                                                       "loadbalancer/haproxy"}))
    assert CapabilityFilter().check(lb, wanted).passed
    vpn = RequestSpec(Resources(), needs=frozenset({"vpn/"}))  # no vpn agent takes objects
    assert not CapabilityFilter().check(lb, vpn).passed


@pytest.mark.parametrize(("kind", "needs", "offered"), [
    ("loadbalancer", ("haproxy", "octavia"), True),  # each offered by some agent below
    ("vpn", (), True),
    ("vpn", ("ipsec",), False),
    ("router", (), False),
], ids=["both-needs", "kind-only", "missing-need", "missing-kind"])
def test_a_child_offers_what_some_agent_below_it_has(kind: str, needs: tuple[str, ...],
                                                      offered: bool) -> None:
    below = CellCapacity.combine([
        CellCapacity(agents=(("loadbalancer/", 2), ("loadbalancer/haproxy", 2))),
        CellCapacity(agents=(("loadbalancer/", 1), ("loadbalancer/octavia", 1), ("vpn/", 1)))])
    candidate = as_candidate(child("r1", agents=below.agents))
    wanted = RequestSpec(Resources(), needs=frozenset(
        (f"{kind}/", *(f"{kind}/{need}" for need in needs))))
    assert CapabilityFilter().check(candidate, wanted).passed is offered


def test_in_turn_takes_the_first_that_takes_it_and_says_why_the_others_did_not() -> None:
    tried: list[str] = []

    async def attempt(c: Child) -> str:
        tried.append(c.name)
        if c.name != "c":
            raise ResourceExhausted(f"{c.name} is full")
        return f"in {c.name}"

    kids = [child("a"), child("b"), child("c"), child("d")]
    assert asyncio.run(in_turn(kids, attempt, "nobody")) == "in c"
    assert tried == ["a", "b", "c"]  # d never asked
    with pytest.raises(ResourceExhausted) as refused:
        asyncio.run(in_turn(kids[:2], attempt, "no cell under top could take it"))
    assert refused.value.message == ("no cell under top could take it: a: a is full;"
                                     " b: b is full")


def test_in_turn_stops_at_any_other_refusal() -> None:
    async def attempt(c: Child) -> str:
        raise InvalidArgument("bad request")

    with pytest.raises(InvalidArgument):
        asyncio.run(in_turn([child("a"), child("b")], attempt, "nobody"))
