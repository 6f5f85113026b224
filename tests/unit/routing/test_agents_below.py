"""A router's view of the agents below it (routing.agents_below): merged from
every child with their leaf's path, partial lists saying which cells did not
answer, and a change sent only to the one leaf with the agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.agents import Agent, AgentReport
from model.call import Call
from model.errors import FailedPrecondition, NotFound, Unavailable
from routing.agents_below import AgentsBelow
from tests.unit.routing.router_tree import Tree, run


def agent(agent_id: str, kind: str = "loadbalancer") -> Agent:
    return Agent(AgentReport(agent_id, f"host-{agent_id}", kind), alive=True)


def below(t: Tree) -> AgentsBelow:
    return AgentsBelow(t.children, t.router.identity, child_timeout=5.0)


def test_a_listing_merges_the_children_and_names_those_that_did_not_answer(
        tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        t.kids["a"].agents = {"lb-1": agent("lb-1"), "vpn-1": agent("vpn-1", "vpn")}
        t.kids["b"].agents = {"lb-2": agent("lb-2")}
        t.kids["c"].agents = {"lb-3": agent("lb-3")}
        found = await below(t).listing("", Call())
        assert [(a.id, path) for a, path in found.agents] == [
            ("lb-1", "top!a"), ("vpn-1", "top!a"), ("lb-2", "top!b"), ("lb-3", "top!c")]
        assert found.unanswered == ()
        only = await below(t).listing("vpn", Call())
        assert [a.id for a, _ in only.agents] == ["vpn-1"]
        asked = len(t.kids["b"].calls("list_agents"))
        t.mark_down("b")  # down: not asked
        t.kids["c"].down = True  # up, but unreachable: asked, no answer
        partial = await below(t).listing("", Call())
        assert [a.id for a, _ in partial.agents] == ["lb-1", "vpn-1"]
        assert partial.unanswered == ("top!b", "top!c")
        assert len(t.kids["b"].calls("list_agents")) == asked

    run(tmp_path, body, names=("a", "b", "c"))


def test_a_change_goes_to_the_one_leaf_with_the_agent(tmp_path: Path) -> None:
    async def body(t: Tree) -> None:
        t.kids["a"].agents = {"lb-1": agent("lb-1"), "twin": agent("twin")}
        t.kids["b"].agents = {"lb-2": agent("lb-2"), "twin": agent("twin")}
        switched, path = await below(t).set_enabled("lb-2", False, Call())
        assert (switched.enabled, path) == (False, "top!b")
        assert not t.kids["a"].calls("set_agent_enabled")
        with pytest.raises(FailedPrecondition, match="top!a, top!b"):
            await below(t).set_enabled("twin", False, Call())
        assert t.kids["a"].agents["twin"].enabled and t.kids["b"].agents["twin"].enabled
        with pytest.raises(NotFound, match="no agent lb-9 under top"):
            await below(t).remove("lb-9", Call())
        await below(t).remove("lb-1", Call())
        assert set(t.kids["a"].agents) == {"twin"}
        t.kids["b"].down = True  # lb-2 may be there: not "not found"
        with pytest.raises(Unavailable, match="top!b did not answer"):
            await below(t).remove("lb-2", Call())
        await below(t).set_enabled("twin", False, Call())  # now only a's is seen
        assert not t.kids["a"].agents["twin"].enabled

    run(tmp_path, body)
