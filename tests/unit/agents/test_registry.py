"""The agents a leaf knows (agents.registry), over a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from agents.registry import AgentRegistry
from celldb.engine import open_database
from model.agents import AgentReport, Heard
from model.errors import AlreadyExists, InvalidArgument, NotFound

LB = AgentReport("lb-1", "host-a", "loadbalancer", ("haproxy",), "az1", True, 3)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'leaf.db'}"


def registry(url: str, clock: Clock, down_after: float = 30.0) -> AgentRegistry:
    return AgentRegistry(open_database(url), down_after, clock)


def test_an_agent_is_new_then_alive_then_down_then_revived(db: str) -> None:
    clock = Clock()
    agents = registry(db, clock)
    assert agents.report(LB) is Heard.NEW
    clock.now += 10
    assert agents.report(LB) is Heard.ALIVE
    clock.now += 31
    (down,) = agents.agents()
    assert not down.alive and not down.takes_objects and down.heard_ago == 31
    assert agents.report(LB) is Heard.REVIVED
    assert agents.get("lb-1").alive


def test_a_silent_agent_is_kept_until_an_operator_removes_it(db: str) -> None:
    clock = Clock()
    agents = registry(db, clock)
    agents.report(LB)
    clock.now += 10_000
    assert [a.id for a in agents.agents()] == ["lb-1"]
    agents.remove("lb-1")
    assert agents.agents() == []
    with pytest.raises(NotFound, match="lb-1"):
        agents.remove("lb-1")
    assert registry(db, clock).agents() == []  # gone from the database too


def test_a_restarted_leaf_knows_its_agents_and_counts_them_up_for_a_while(db: str) -> None:
    clock = Clock()
    agents = registry(db, clock)
    agents.report(LB)
    agents.set_enabled("lb-1", False)
    clock.now += 10_000  # the leaf was down a long time
    again = registry(db, clock)
    (known,) = again.agents()
    assert known.report == LB and known.alive and not known.enabled
    assert not known.takes_objects  # disabled stays disabled


def test_what_an_agent_says_is_kept_as_it_last_said_it(db: str) -> None:
    clock = Clock()
    agents = registry(db, clock)
    agents.report(LB)
    busier = replace(LB, load=9, capabilities=("haproxy", "octavia-amphora"), admin_up=False)
    assert agents.report(busier) is Heard.ALIVE
    assert registry(db, clock).get("lb-1").report == busier
    assert not agents.get("lb-1").takes_objects  # its own admin state says no


def test_an_id_held_by_an_agent_on_another_host_is_refused_and_nothing_changes(
        db: str) -> None:
    clock = Clock()
    agents = registry(db, clock)
    agents.report(LB)
    with pytest.raises(AlreadyExists, match="held by the agent on host host-a"):
        agents.report(replace(LB, host="host-b", load=0))
    assert agents.get("lb-1").report == LB


@pytest.mark.parametrize(("change", "needle"), [
    ({"id": ""}, "bad agent id"),
    ({"id": "a b"}, "bad agent id"),
    ({"id": "x" * 256}, "bad agent id"),
    ({"host": "-h"}, "bad host"),
    ({"kind": "LB"}, "bad kind"),
    ({"capabilities": ("ok", "no way")}, "bad capability"),
    ({"capabilities": ("a", "a")}, "given twice"),
    ({"capabilities": tuple(f"c{n}" for n in range(33))}, "at most 32"),
    ({"availability_zone": "az 1"}, "bad availability zone"),
    ({"load": -1}, "load must be"),
    ({"load": 2**31}, "load must be"),
], ids=["id-empty", "id-space", "id-long", "host", "kind", "capability", "twice", "many",
        "zone", "load-negative", "load-huge"])
def test_a_malformed_report_is_refused_with_the_reason(
        db: str, change: dict[str, object], needle: str) -> None:
    agents = registry(db, Clock())
    with pytest.raises(InvalidArgument, match=needle):
        agents.report(replace(LB, **change))  # type: ignore[arg-type]
    assert agents.agents() == []


def test_only_agents_that_take_objects_are_offered_up(db: str) -> None:
    clock = Clock()
    agents = registry(db, clock)
    agents.report(LB)
    agents.report(replace(LB, id="lb-2", host="h2", capabilities=("haproxy", "octavia")))
    agents.report(replace(LB, id="lb-3", host="h3", admin_up=False))
    agents.report(AgentReport("vpn-1", "h4", "vpn", ("ipsec",)))
    agents.set_enabled("vpn-1", False)
    assert dict(agents.offers()) == {"loadbalancer/": 2, "loadbalancer/haproxy": 2,
                                     "loadbalancer/octavia": 1}
    clock.now += 31  # all silent: nothing is offered
    assert agents.offers() == ()
