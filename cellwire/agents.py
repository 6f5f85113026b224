"""A client of a leaf cell's `Agents` and `Objects` services: for agents
(report, watch their bindings, say an object is live) and for operators and
users (agents: list, enable, disable, remove; objects: place, show, list,
delete, bind, unbind). Failures are CellErrors, as from `cellwire.client`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cellwire import channels, wire
from cellwire.agent_ops import AgentOpsCalls
from cellwire.calls import Metadata, from_rpc_error
from cellwire.objects import ObjectCalls
from cellwire.tls import Tls
from model.agents import Agent, AgentReport, BindingEvent, Heard, ObjectState, ServiceObject
from model.call import AUTH_KEY


class AgentsClient(ObjectCalls, AgentOpsCalls):
    """An asyncio client of the leaf cell at `address` (IP:PORT, or several
    joined with commas for a leaf with standbys). Its calls are sent once
    each, with the client's timeout."""

    def __init__(self, address: str, timeout: float = 10.0, tls: Tls | None = None,
                 peer_name: str = "", *, ca: bytes | None = None, token: str = "") -> None:
        """With `tls` (the deployment's CA, this agent's certificate and key), the
        channel is mutual TLS, and the cell's certificate must name `peer_name`
        when one is given; under TLS a leaf lets an agent speak only for the id
        its certificate names. A client of the top's client port gives instead
        `ca` (TLS that proves the cell) and its API `token`."""
        self.address = address
        self.timeout = timeout
        self._metadata = ((AUTH_KEY, f"Bearer {token}"),) if token else None
        self._channel = channels.aio_channel(
            address, tls=tls, ca=ca, peer_name=peer_name,
            options=[("grpc.max_reconnect_backoff_ms", 1000)])
        self._stub = pb_grpc.AgentsStub(self._channel)  # type: ignore[no-untyped-call]
        ObjectCalls.__init__(self, self._channel, self._call)
        AgentOpsCalls.__init__(self, self._channel, self._call)

    async def close(self) -> None:
        await self._channel.close(grace=None)

    async def _call(self, stub: Any, method: str, request: Any,
                    timeout: float | None = None, metadata: Metadata = ()) -> Any:
        """One unary call; a failure is the CellError it stands for."""
        sent = (*(self._metadata or ()), *metadata) or None
        try:
            return await getattr(stub, method)(request, timeout=timeout or self.timeout,
                                               metadata=sent)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, f"cell at {self.address}") from None

    async def report(self, report: AgentReport) -> tuple[Heard, float]:
        """Send a heartbeat; returns what the cell made of it, and its down period."""
        reply = await self._call(self._stub, "Report", wire.agent_report_to_pb(report))
        return wire.heard_from_pb(reply.heard), reply.down_after_s

    async def agents(self, kind: str = "") -> list[tuple[Agent, str]]:
        """Every agent the cell knows (of `kind`; a router: of its subtree),
        each with the path of its leaf."""
        return list((await self.list_agents(kind)).agents)

    # The operators' Agents calls (`AgentOpsCalls`) by the names the CLI knows.
    listing = AgentOpsCalls.list_agents
    set_enabled = AgentOpsCalls.set_agent_enabled
    remove = AgentOpsCalls.remove_agent

    async def watch(self, agent_id: str, after: int) -> AsyncIterator[BindingEvent]:
        """The agent's binding events after revision `after` (no deadline: the
        stream lasts until the cell or the caller ends it)."""
        call = self._stub.Watch(pb.WatchRequest(agent_id=agent_id, after_revision=after),
                                metadata=self._metadata)
        try:
            async for event in call:
                yield wire.binding_from_pb(event)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, f"cell at {self.address}") from None
        finally:
            call.cancel()

    async def set_object_state(self, agent_id: str, uuid: str, state: ObjectState,
                               fault: str = "") -> ServiceObject:
        request = pb.SetObjectStateRequest(agent_id=agent_id, uuid=uuid,
                                           state=wire.object_state_to_pb(state), fault=fault)
        return wire.object_from_pb(await self._call(self._stub, "SetObjectState", request))

    # The Objects calls (`ObjectCalls`) by the names the agents' CLI and its
    # users know them.
    place = ObjectCalls.place_object
    bind = ObjectCalls.bind_object
    unbind = ObjectCalls.unbind_object
    objects = ObjectCalls.list_objects
