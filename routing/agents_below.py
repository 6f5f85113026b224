"""The agents of a router's subtree, for operators: listed from every child,
and one switched off, on or removed at its leaf.

A list asks every child that is up at once (a router child asks its own in
turn) and merges what they answer, each agent with the path of its leaf; the
children that are down or do not answer are named in `unanswered`, so a
partial list says it is partial. An agent is known by its id at its leaf
only (two leaves may each have an `lb-1`), so a change at a router first
finds the one leaf below whose agent has the id, and goes to the child on
the way there: none is NOT_FOUND, several are FAILED_PRECONDITION naming
them (the operator asks that leaf instead), and a child that did not answer
while none other had the agent is UNAVAILABLE (it may be there).
"""

from __future__ import annotations

from model.agents import Agent, AgentListing
from model.call import Call
from model.cells import CellKind
from model.errors import CellError, FailedPrecondition, NotFound, Unavailable
from routing.children import Child, Children, Here, fanout
from routing.path import next_hop_to


class AgentsBelow:
    def __init__(self, children: Children, here: Here, child_timeout: float) -> None:
        self._children = children
        self._here = here
        self._timeout = child_timeout

    async def listing(self, kind: str, call: Call) -> AgentListing:
        """Every agent below (of `kind`), by leaf path and id."""
        timeout = call.remaining(self._timeout)
        up = [c for c in self._children if self._children.is_up(c)]
        unanswered = [c.path for c in self._children if not self._children.is_up(c)]
        answers = await fanout(up, lambda c: c.link().list_agents(
            kind, timeout=timeout, metadata=call.downstream()))
        agents: list[tuple[Agent, str]] = []
        stopped: list[str] = []
        for child, answer in answers:
            if isinstance(answer, AgentListing):
                agents += answer.agents
                unanswered += answer.unanswered
                if answer.failover_stopped:
                    stopped.append(answer.failover_stopped if child.kind is CellKind.ROUTER
                                   else f"{child.path}: {answer.failover_stopped}")
            elif isinstance(answer, CellError):
                unanswered.append(child.path)
            else:
                raise answer
        agents.sort(key=lambda pair: (pair[1], pair[0].id))
        return AgentListing(tuple(agents), "; ".join(stopped), tuple(sorted(unanswered)))

    async def set_enabled(self, agent_id: str, enabled: bool, call: Call) -> tuple[Agent, str]:
        child = await self._holder(agent_id, call)
        return await child.link().set_agent_enabled(
            agent_id, enabled, timeout=call.remaining(self._timeout), metadata=call.downstream())

    async def remove(self, agent_id: str, call: Call) -> None:
        child = await self._holder(agent_id, call)
        await child.link().remove_agent(agent_id, timeout=call.remaining(self._timeout),
                                        metadata=call.downstream())

    async def _holder(self, agent_id: str, call: Call) -> Child:
        """The child on the way to the one leaf below with agent `agent_id`."""
        found = await self.listing("", call)
        leaves = sorted({path for agent, path in found.agents if agent.id == agent_id})
        if len(leaves) > 1:
            raise FailedPrecondition(
                f"agent {agent_id[:255]} is known at {', '.join(leaves)}: ask its leaf"
                " (--cell) instead")
        if not leaves:
            if found.unanswered:
                raise Unavailable(f"no agent {agent_id[:255]} among those listed under"
                                  f" {self._here.path}, and {', '.join(found.unanswered)}"
                                  " did not answer")
            raise NotFound(f"no agent {agent_id[:255]} under {self._here.path}")
        hop = next_hop_to(self._here.path, leaves[0])
        child = self._children.get(hop) if hop else None
        if child is None:
            raise Unavailable(f"the way to {leaves[0]} under {self._here.path} is not known")
        return child
