"""A client of a leaf cell's `Agents` and `Objects` services: for agents
(report, watch their bindings, say an object is live) and for operators and
users (agents: list, enable, disable, remove; objects: place, show, list,
delete). Failures are CellErrors, as from `cells.client`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cells.client import channel_target, from_rpc_error
from cells.edge import wire
from cells.security.tls import Tls, target_options
from model.agents import (
    Agent,
    AgentReport,
    BindingEvent,
    Heard,
    ObjectState,
    PlaceSpec,
    ServiceObject,
)
from model.call import AUTH_KEY


class AgentsClient:
    """An asyncio client of the leaf cell at `address` (IP:PORT, or several
    joined with commas for a leaf with standbys)."""

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
        target, balancing = channel_target(address)
        options = [*balancing, ("grpc.max_reconnect_backoff_ms", 1000)]
        if tls is not None or ca is not None:
            options += target_options(peer_name)
            credentials = tls.channel() if tls is not None else grpc.ssl_channel_credentials(ca)
            self._channel = grpc.aio.secure_channel(target, credentials, options=options)
        else:
            self._channel = grpc.aio.insecure_channel(target, options=options)
        self._stub = pb_grpc.AgentsStub(self._channel)  # type: ignore[no-untyped-call]
        self._objects = pb_grpc.ObjectsStub(self._channel)  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._channel.close(grace=None)

    async def _call(self, stub: Any, method: str, request: Any) -> Any:
        """One unary call; a failure is the CellError it stands for."""
        try:
            return await getattr(stub, method)(request, timeout=self.timeout,
                                               metadata=self._metadata)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc, f"cell at {self.address}") from None

    async def report(self, report: AgentReport) -> tuple[Heard, float]:
        """Send a heartbeat; returns what the cell made of it, and its down period."""
        reply = await self._call(self._stub, "Report", wire.agent_report_to_pb(report))
        return wire.heard_from_pb(reply.heard), reply.down_after_s

    async def agents(self, kind: str = "") -> list[tuple[Agent, str]]:
        """Every agent the cell knows (of `kind`), with the cell's path."""
        return (await self.listing(kind))[0]

    async def listing(self, kind: str = "") -> tuple[list[tuple[Agent, str]], str]:
        """Every agent the cell knows (of `kind`), with the cell's path; and why
        failover stood still at its last round ("" when it did not)."""
        reply = await self._call(self._stub, "ListAgents", pb.ListAgentsRequest(kind=kind))
        return [wire.agent_from_pb(a) for a in reply.agents], reply.failover_stopped

    async def set_enabled(self, agent_id: str, enabled: bool) -> tuple[Agent, str]:
        request = pb.SetAgentEnabledRequest(id=agent_id, enabled=enabled)
        return wire.agent_from_pb(await self._call(self._stub, "SetAgentEnabled", request))

    async def remove(self, agent_id: str) -> None:
        await self._call(self._stub, "RemoveAgent", pb.RemoveAgentRequest(id=agent_id))

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

    # --- objects

    async def place(self, spec: PlaceSpec) -> ServiceObject:
        return await self._object("Place", wire.place_to_pb(spec))

    async def get_object(self, uuid: str) -> ServiceObject:
        return await self._object("GetObject", pb.ObjectRequest(uuid=uuid))

    async def delete_object(self, uuid: str) -> ServiceObject:
        return await self._object("DeleteObject", pb.ObjectRequest(uuid=uuid))

    async def bind(self, uuid: str, agent: str) -> ServiceObject:
        """Move object `uuid` to `agent` (an operator's choice)."""
        return await self._object("Bind", pb.BindRequest(uuid=uuid, agent=agent))

    async def unbind(self, uuid: str) -> ServiceObject:
        """Move object `uuid` off its agent, to another the rules choose."""
        return await self._object("Unbind", pb.ObjectRequest(uuid=uuid))

    async def objects(self, kind: str = "", agent: str = "",
                      project: str = "") -> list[ServiceObject]:
        request = pb.ListObjectsRequest(kind=kind, agent=agent, project=project)
        reply = await self._call(self._objects, "ListObjects", request)
        return [wire.object_from_pb(o) for o in reply.objects]

    async def _object(self, method: str, request: Any) -> ServiceObject:
        return wire.object_from_pb(await self._call(self._objects, method, request))
