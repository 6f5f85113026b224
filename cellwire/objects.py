"""The Objects service's calls (place, show, delete, bind, unbind and list
service objects), written once for both clients that speak it:
`AsyncCellClient` (cells calling their children, the API) and `AgentsClient`
(agents and operators). Each client sends the calls its own way, with its
retries and credentials."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc.aio

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cellwire import wire
from cellwire.calls import Metadata
from model.agents import PlaceSpec, ServiceObject

# Sends one unary call: (stub, method, request, timeout, metadata) -> answer;
# a failure is raised as the CellError it stands for.
Send = Callable[[Any, str, Any, float | None, Metadata], Awaitable[Any]]


class ObjectCalls:
    """The Objects service over `channel`, each call sent with `send`."""

    def __init__(self, channel: grpc.aio.Channel, send: Send) -> None:
        self._objects = pb_grpc.ObjectsStub(channel)  # type: ignore[no-untyped-call]
        self._send = send

    async def place_object(self, spec: PlaceSpec, timeout: float | None = None,
                           metadata: Metadata = ()) -> ServiceObject:
        return await self._object("Place", wire.place_to_pb(spec), timeout, metadata)

    async def get_object(self, uuid: str, timeout: float | None = None,
                         metadata: Metadata = ()) -> ServiceObject:
        return await self._object("GetObject", pb.ObjectRequest(uuid=uuid), timeout, metadata)

    async def delete_object(self, uuid: str, timeout: float | None = None,
                            metadata: Metadata = ()) -> ServiceObject:
        return await self._object("DeleteObject", pb.ObjectRequest(uuid=uuid), timeout,
                                  metadata)

    async def bind_object(self, uuid: str, agent: str, timeout: float | None = None,
                          metadata: Metadata = ()) -> ServiceObject:
        """Move object `uuid` to `agent` (an operator's choice)."""
        return await self._object("Bind", pb.BindRequest(uuid=uuid, agent=agent), timeout,
                                  metadata)

    async def unbind_object(self, uuid: str, timeout: float | None = None,
                            metadata: Metadata = ()) -> ServiceObject:
        """Move object `uuid` off its agent, to another the rules choose."""
        return await self._object("Unbind", pb.ObjectRequest(uuid=uuid), timeout, metadata)

    async def list_objects(self, kind: str = "", agent: str = "", project: str = "",
                           timeout: float | None = None,
                           metadata: Metadata = ()) -> list[ServiceObject]:
        request = pb.ListObjectsRequest(kind=kind, agent=agent, project=project)
        reply = await self._send(self._objects, "ListObjects", request, timeout, metadata)
        return [wire.object_from_pb(o) for o in reply.objects]

    async def _object(self, method: str, request: Any, timeout: float | None,
                      metadata: Metadata) -> ServiceObject:
        reply = await self._send(self._objects, method, request, timeout, metadata)
        return wire.object_from_pb(reply)
