"""The Agents service's calls for operators (list the agents, switch one off
or on, remove one), written once for both clients that speak them:
`AsyncCellClient` (a router asking its children) and `AgentsClient` (the
`cellrouter agents` commands). Each client sends them its own way."""

from __future__ import annotations

import grpc.aio

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cellwire import wire
from cellwire.calls import Metadata
from cellwire.objects import Send
from model.agents import Agent, AgentListing


class AgentOpsCalls:
    """The operators' Agents calls over `channel`, each sent with `send`."""

    def __init__(self, channel: grpc.aio.Channel, send: Send) -> None:
        self._agents_stub = pb_grpc.AgentsStub(channel)  # type: ignore[no-untyped-call]
        self._agents_send = send

    async def list_agents(self, kind: str = "", timeout: float | None = None,
                          metadata: Metadata = ()) -> AgentListing:
        """The agents the cell knows (of `kind`), a router's of its subtree."""
        reply = await self._agents_send(self._agents_stub, "ListAgents",
                                        pb.ListAgentsRequest(kind=kind), timeout, metadata)
        return AgentListing(tuple(wire.agent_from_pb(a) for a in reply.agents),
                            reply.failover_stopped, tuple(reply.unanswered))

    async def set_agent_enabled(self, agent_id: str, enabled: bool,
                                timeout: float | None = None,
                                metadata: Metadata = ()) -> tuple[Agent, str]:
        request = pb.SetAgentEnabledRequest(id=agent_id, enabled=enabled)
        return wire.agent_from_pb(await self._agents_send(
            self._agents_stub, "SetAgentEnabled", request, timeout, metadata))

    async def remove_agent(self, agent_id: str, timeout: float | None = None,
                           metadata: Metadata = ()) -> None:
        await self._agents_send(self._agents_stub, "RemoveAgent",
                                pb.RemoveAgentRequest(id=agent_id), timeout, metadata)
