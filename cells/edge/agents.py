"""The `cellrouter.v1.Agents` service of a leaf cell: agents report here, and
operators list, switch and remove them (the registry is `agents.registry`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from agents.registry import AgentRegistry
from cellrouter.v1 import cells_pb2 as pb
from cells.edge import wire
from cells.edge.decoding import handlers
from cells.edge.status import to_status


class AgentsServicer:
    def __init__(self, registry: AgentRegistry, path: Callable[[], str]) -> None:
        """`path()` is this cell's full path (it may learn it after it starts)."""
        self._registry = registry
        self._path = path

    async def _refuse(self, exc: Exception, context: Any) -> None:
        code, message = to_status(exc, self._path())
        await context.abort(code, message)

    async def Report(self, request: pb.AgentReport, context: Any) -> pb.AgentReportReply:
        try:
            heard = self._registry.report(wire.agent_report_from_pb(request))
        except Exception as exc:
            await self._refuse(exc, context)
        return pb.AgentReportReply(heard=wire.heard_to_pb(heard),
                                   down_after_s=self._registry.down_after)

    async def ListAgents(self, request: pb.ListAgentsRequest,
                         context: Any) -> pb.ListAgentsResponse:
        path = self._path()
        return pb.ListAgentsResponse(agents=[
            wire.agent_to_pb(a, path) for a in self._registry.agents()
            if not request.kind or a.report.kind == request.kind])

    async def SetAgentEnabled(self, request: pb.SetAgentEnabledRequest,
                              context: Any) -> pb.AgentInfo:
        try:
            agent = self._registry.set_enabled(request.id, request.enabled)
        except Exception as exc:
            await self._refuse(exc, context)
        return wire.agent_to_pb(agent, self._path())

    async def RemoveAgent(self, request: pb.RemoveAgentRequest,
                          context: Any) -> pb.RemoveAgentResponse:
        try:
            self._registry.remove(request.id)
        except Exception as exc:
            await self._refuse(exc, context)
        return pb.RemoveAgentResponse()


def agents_handler(servicer: AgentsServicer) -> grpc.GenericRpcHandler[Any, Any]:
    """The `cellrouter.v1.Agents` service of `servicer`, malformed bytes refused."""
    service = "cellrouter.v1.Agents"
    return grpc.method_handlers_generic_handler(service, handlers(service, servicer, {
        "Report": (pb.AgentReport, pb.AgentReportReply),
        "ListAgents": (pb.ListAgentsRequest, pb.ListAgentsResponse),
        "SetAgentEnabled": (pb.SetAgentEnabledRequest, pb.AgentInfo),
        "RemoveAgent": (pb.RemoveAgentRequest, pb.RemoveAgentResponse),
    }))
