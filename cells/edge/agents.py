"""The `cellrouter.v1.Agents` service of a leaf (agents report and watch their
bindings; operators list, switch and remove agents), and the
`cellrouter.v1.Objects` service (place, show, list and delete service
objects) of every cell: a leaf's over `agents.service.ObjectService`, a
router's over `routing.objects.ObjectRouter`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol, TypeVar

import grpc

from agents.service import ObjectService
from cellrouter.v1 import cells_pb2 as pb
from cells.edge.decoding import decoded_stream, handlers
from cells.edge.serve import MAX_HOPS, Edge
from cells.security.limits import Limiter, Limits
from cells.security.names import ANY_AGENT, NameRule
from cells.security.scope import Gate, open_gate
from cellwire import wire
from cellwire.tls import peer_cell, require_peer, require_role
from model.agents import Agent, AgentListing, PlaceSpec, ServiceObject
from model.call import Call
from model.errors import AlreadyExists, NotFound, PermissionDenied

T = TypeVar("T")


Ancestors = Callable[[], Sequence[str]]


class Peers:
    """Who may call. An agent's id must be one `agents` admits (the leaf's
    `[agents] allowed`). Under mutual TLS (no certificate checks without it)
    an agent speaks only for itself (its certificate names its id and carries
    the role `agent`), and the rest (operators' calls, objects) comes from the
    cells above this one, as Cells calls do."""

    def __init__(self, ancestors: Ancestors | None,
                 agents: NameRule = ANY_AGENT,
                 here: Callable[[], str] = lambda: "this leaf") -> None:
        self._ancestors = ancestors
        self._agents = agents
        self._here = here

    def agent(self, context: Any, agent_id: str) -> None:
        if self._ancestors is not None:
            auth = context.auth_context()
            named = peer_cell(auth)
            if named != agent_id:
                raise PermissionDenied(f"a certificate for {named or 'nobody'} may not speak"
                                       f" for agent {agent_id[:255]} (an agent's certificate"
                                       " names its id)")
            require_role(auth, "agent", f"speak for agent {agent_id[:255]}")
        self._agents.check(agent_id, self._here())

    def above(self, context: Any, what: str) -> None:
        if self._ancestors is not None:
            require_peer(context.auth_context(), self._ancestors(),
                         f"{what} (only the cells above this one may)")


class AgentsServicer:
    """`cellrouter.v1.Agents` at a leaf: agents report and watch, the cells
    above list and switch them. Every call goes through the one edge
    (cells.edge.serve); who may make it is `peers`' to say."""

    def __init__(self, service: ObjectService, path: Callable[[], str],
                 peers: Peers | None = None, limiter: Limiter | None = None,
                 max_hops: int = MAX_HOPS) -> None:
        """`path()` is this cell's full path (it may learn it after it starts)."""
        self._service = service
        self._path = path
        self._peers = peers or Peers(None)
        self._edge = Edge(path, open_gate, limiter or Limiter(Limits()), max_hops)

    def _with_path(self, answer: pb.ServiceObject) -> pb.ServiceObject:
        answer.cell_path = self._path()
        return answer

    async def Report(self, request: pb.AgentReport, context: Any) -> pb.AgentReportReply:
        registry = self._service.registry

        async def work(call: Call) -> pb.AgentReportReply:
            self._peers.agent(context, request.id)
            heard = registry.report(wire.agent_report_from_pb(request))
            return pb.AgentReportReply(heard=wire.heard_to_pb(heard),
                                       down_after_s=registry.down_after)

        return await self._edge.serve(context, work)

    async def Watch(self, request: pb.WatchRequest,
                    context: Any) -> AsyncIterator[pb.BindingEvent]:
        """A stream for as long as the agent runs: admitted like any call, but
        holding no slot of its client's budget while it streams."""
        async def admitted(call: Call) -> Call:
            self._peers.agent(context, request.agent_id)
            return call

        call = await self._edge.serve(context, admitted)
        try:
            events = self._service.watch(request.agent_id, request.after_revision)
            async for event in events:
                answer = wire.binding_to_pb(event)
                if event.object is not None:
                    self._with_path(answer.object)
                yield answer
        except Exception as exc:
            await self._edge.refuse(context, exc, call)

    async def SetObjectState(self, request: pb.SetObjectStateRequest,
                             context: Any) -> pb.ServiceObject:
        async def work(call: Call) -> pb.ServiceObject:
            self._peers.agent(context, request.agent_id)
            done = self._service.set_state(request.agent_id, request.uuid,
                                           wire.object_state_from_pb(request.state),
                                           request.fault[:1024])
            return self._with_path(wire.object_to_pb(done))

        return await self._edge.serve(context, work)


class AgentOps(Protocol):
    """What answers operators' agent calls: a leaf's registry (`LeafAgentOps`)
    or a router's subtree (`routing.agents_below.AgentsBelow`)."""

    async def listing(self, kind: str, call: Call) -> AgentListing: ...

    async def set_enabled(self, agent_id: str, enabled: bool,
                          call: Call) -> tuple[Agent, str]: ...

    async def remove(self, agent_id: str, call: Call) -> None: ...


class LeafAgentOps:
    """A leaf's agents (its `ObjectService`'s registry) as `AgentOps`."""

    def __init__(self, service: ObjectService, path: Callable[[], str]) -> None:
        self._service = service
        self._path = path

    async def listing(self, kind: str, call: Call) -> AgentListing:
        path = self._path()
        return AgentListing(tuple((a, path) for a in self._service.registry.agents()
                                  if not kind or a.report.kind == kind),
                            self._service.braked)

    async def set_enabled(self, agent_id: str, enabled: bool,
                          call: Call) -> tuple[Agent, str]:
        return self._service.registry.set_enabled(agent_id, enabled), self._path()

    async def remove(self, agent_id: str, call: Call) -> None:
        self._service.registry.remove(agent_id)


class AgentOpsServicer:
    """The operators' calls of `cellrouter.v1.Agents` (list, switch, remove)
    over `ops`: on a cells port from the cells above (`peers`), on the top's
    client port from admin tokens (`gate`)."""

    def __init__(self, ops: AgentOps, path: Callable[[], str], peers: Peers | None = None,
                 gate: Gate = open_gate, limiter: Limiter | None = None,
                 from_cells: bool = True, max_hops: int = MAX_HOPS) -> None:
        self._ops = ops
        self._peers = peers or Peers(None)
        self._edge = Edge(path, gate, limiter or Limiter(Limits()), max_hops, from_cells)

    def _admit(self, context: Any, call: Call, what: str) -> None:
        self._peers.above(context, what)
        if not call.principal.admin:
            raise PermissionDenied(f"only an admin may {what}")

    async def ListAgents(self, request: pb.ListAgentsRequest,
                         context: Any) -> pb.ListAgentsResponse:
        async def work(call: Call) -> pb.ListAgentsResponse:
            self._admit(context, call, "list the agents")
            found = await self._ops.listing(request.kind[:255], call)
            return pb.ListAgentsResponse(
                agents=[wire.agent_to_pb(a, path) for a, path in found.agents],
                failover_stopped=found.failover_stopped, unanswered=found.unanswered)

        return await self._edge.serve(context, work)

    async def SetAgentEnabled(self, request: pb.SetAgentEnabledRequest,
                              context: Any) -> pb.AgentInfo:
        async def work(call: Call) -> pb.AgentInfo:
            self._admit(context, call, "switch an agent")
            return wire.agent_to_pb(*await self._ops.set_enabled(request.id, request.enabled,
                                                                 call))

        return await self._edge.serve(context, work)

    async def RemoveAgent(self, request: pb.RemoveAgentRequest,
                          context: Any) -> pb.RemoveAgentResponse:
        async def work(call: Call) -> pb.RemoveAgentResponse:
            self._admit(context, call, "remove an agent")
            await self._ops.remove(request.id, call)
            return pb.RemoveAgentResponse()

        return await self._edge.serve(context, work)


class ObjectsBackend(Protocol):
    """What serves the Objects service: a leaf's objects (`LeafObjects`), or a
    router's way to them (`routing.objects.ObjectRouter`). Answers carry the
    path of the leaf whose agent holds the object."""

    async def place(self, spec: PlaceSpec, call: Call) -> ServiceObject: ...

    async def get(self, uuid: str, call: Call) -> ServiceObject: ...

    async def delete(self, uuid: str, call: Call) -> ServiceObject: ...

    async def objects(self, kind: str, agent: str, project: str,
                      call: Call) -> list[ServiceObject]: ...

    async def bind(self, uuid: str, agent: str, call: Call) -> ServiceObject: ...

    async def unbind(self, uuid: str, call: Call) -> ServiceObject: ...


class LeafObjects:
    """A leaf's `ObjectService` as an `ObjectsBackend`."""

    def __init__(self, service: ObjectService, path: Callable[[], str]) -> None:
        self._service = service
        self._path = path

    def _here(self, obj: ServiceObject) -> ServiceObject:
        return replace(obj, cell_path=self._path())

    async def place(self, spec: PlaceSpec, call: Call) -> ServiceObject:
        return self._here(self._service.place(spec))

    async def get(self, uuid: str, call: Call) -> ServiceObject:
        return self._here(self._service.get(uuid))

    async def delete(self, uuid: str, call: Call) -> ServiceObject:
        return self._here(self._service.delete(uuid))

    async def objects(self, kind: str, agent: str, project: str,
                      call: Call) -> list[ServiceObject]:
        return [self._here(o) for o in self._service.objects(kind, agent, project)]

    async def bind(self, uuid: str, agent: str, call: Call) -> ServiceObject:
        return self._here(self._service.bind(uuid, agent))

    async def unbind(self, uuid: str, call: Call) -> ServiceObject:
        return self._here(self._service.unbind(uuid))


class ScopedObjects:
    """The calls of `backend`, limited to what `call.principal` may do: a member
    places, sees and deletes its own project's objects only (another's is as
    missing as one that never was); moving objects is for admins."""

    def __init__(self, backend: ObjectsBackend) -> None:
        self._backend = backend

    async def place(self, spec: PlaceSpec, call: Call) -> ServiceObject:
        who = call.principal
        if not who.admin:
            if spec.project not in ("", who.project):
                raise PermissionDenied(f"a token of project {who.project} cannot place objects"
                                       f" for project {spec.project[:255]}")
            spec = replace(spec, project=who.project)
        placed = await self._backend.place(spec, call)
        if not who.owns(placed.spec.project):  # the request id was another project's
            raise AlreadyExists(f"request id {spec.request_id[:255]} is already in use")
        return placed

    async def get(self, uuid: str, call: Call) -> ServiceObject:
        return self._own(await self._backend.get(uuid, call), call)

    async def delete(self, uuid: str, call: Call) -> ServiceObject:
        self._own(await self._backend.get(uuid, call), call)
        return await self._backend.delete(uuid, call)

    async def objects(self, kind: str, agent: str, project: str,
                      call: Call) -> list[ServiceObject]:
        who = call.principal
        return await self._backend.objects(kind, agent, project if who.admin else who.project,
                                           call)

    async def bind(self, uuid: str, agent: str, call: Call) -> ServiceObject:
        self._admin(call, "move objects")
        return await self._backend.bind(uuid, agent, call)

    async def unbind(self, uuid: str, call: Call) -> ServiceObject:
        self._admin(call, "move objects")
        return await self._backend.unbind(uuid, call)

    @staticmethod
    def _own(obj: ServiceObject, call: Call) -> ServiceObject:
        who = call.principal
        if not who.admin and obj.spec.project != who.project:
            raise NotFound(f"no object {obj.uuid} under this cell")
        return obj

    @staticmethod
    def _admin(call: Call, what: str) -> None:
        if not call.principal.admin:
            raise PermissionDenied(f"only an admin may {what}")


class ObjectsServicer:
    def __init__(self, backend: ObjectsBackend, path: Callable[[], str],
                 gate: Gate = open_gate, limiter: Limiter | None = None,
                 from_cells: bool = True, max_hops: int = MAX_HOPS) -> None:
        """`gate` says who calls (the port's: cells above, or clients' tokens);
        `limiter` holds each client's budget, shared with the Cells service, so
        that objects are no way around it (`from_cells`: whether a caller's hop
        count is believed, on the cells' port, or not, on the clients')."""
        self._backend = ScopedObjects(backend)
        self._edge = Edge(path, gate, limiter or Limiter(Limits()), max_hops, from_cells)

    async def _answer(self, context: Any, work: Callable[[Call], Awaitable[T]]) -> T:
        return await self._edge.serve(context, work)

    async def Place(self, request: pb.PlaceRequest, context: Any) -> pb.ServiceObject:
        spec = wire.place_from_pb(request)
        return wire.object_to_pb(await self._answer(
            context, lambda call: self._backend.place(spec, call)))

    async def GetObject(self, request: pb.ObjectRequest,
                        context: Any) -> pb.ServiceObject:
        return wire.object_to_pb(await self._answer(
            context, lambda call: self._backend.get(request.uuid, call)))

    async def DeleteObject(self, request: pb.ObjectRequest,
                           context: Any) -> pb.ServiceObject:
        return wire.object_to_pb(await self._answer(
            context, lambda call: self._backend.delete(request.uuid, call)))

    async def ListObjects(self, request: pb.ListObjectsRequest,
                          context: Any) -> pb.ListObjectsResponse:
        found = await self._answer(context, lambda call: self._backend.objects(
            request.kind, request.agent, request.project, call))
        return pb.ListObjectsResponse(objects=[wire.object_to_pb(o) for o in found])

    async def Bind(self, request: pb.BindRequest, context: Any) -> pb.ServiceObject:
        return wire.object_to_pb(await self._answer(
            context, lambda call: self._backend.bind(request.uuid, request.agent, call)))

    async def Unbind(self, request: pb.ObjectRequest,
                     context: Any) -> pb.ServiceObject:
        return wire.object_to_pb(await self._answer(
            context, lambda call: self._backend.unbind(request.uuid, call)))


def objects_handler(backend: ObjectsBackend, path: Callable[[], str],
                    gate: Gate = open_gate, limiter: Limiter | None = None,
                    from_cells: bool = True,
                    max_hops: int = MAX_HOPS) -> grpc.GenericRpcHandler[Any, Any]:
    """The `Objects` service over `backend` for the callers `gate` admits (on a
    cells port, the cells above; on a client port, tokens), scoped to what each
    may do, malformed bytes refused."""
    name = "cellrouter.v1.Objects"
    return grpc.method_handlers_generic_handler(name, handlers(
        name, ObjectsServicer(backend, path, gate, limiter, from_cells, max_hops), {
            "Place": (pb.PlaceRequest, pb.ServiceObject),
            "GetObject": (pb.ObjectRequest, pb.ServiceObject),
            "DeleteObject": (pb.ObjectRequest, pb.ServiceObject),
            "ListObjects": (pb.ListObjectsRequest, pb.ListObjectsResponse),
            "Bind": (pb.BindRequest, pb.ServiceObject),
            "Unbind": (pb.ObjectRequest, pb.ServiceObject),
        }))


def agents_handler(service: ObjectService, path: Callable[[], str],
                   ancestors: Ancestors | None = None,
                   allowed: NameRule = ANY_AGENT, limiter: Limiter | None = None,
                   max_hops: int = MAX_HOPS) -> grpc.GenericRpcHandler[Any, Any]:
    """A leaf's `Agents` service over `service`, malformed bytes refused; only
    the agent ids `allowed` admits report; under TLS (`ancestors` given), each
    agent speaks for itself only, with an agent's certificate."""
    peers = Peers(ancestors, allowed, path)
    agents = AgentsServicer(service, path, peers, limiter, max_hops)
    ops = AgentOpsServicer(LeafAgentOps(service, path), path, peers, limiter=limiter,
                           max_hops=max_hops)
    name = "cellrouter.v1.Agents"
    methods = handlers(name, agents, {
        "Report": (pb.AgentReport, pb.AgentReportReply),
        "SetObjectState": (pb.SetObjectStateRequest, pb.ServiceObject),
    }) | handlers(name, ops, _OPS)
    methods["Watch"] = decoded_stream(f"/{name}/Watch", agents.Watch, pb.WatchRequest,
                                      pb.BindingEvent)
    return grpc.method_handlers_generic_handler(name, methods)


_OPS = {"ListAgents": (pb.ListAgentsRequest, pb.ListAgentsResponse),
        "SetAgentEnabled": (pb.SetAgentEnabledRequest, pb.AgentInfo),
        "RemoveAgent": (pb.RemoveAgentRequest, pb.RemoveAgentResponse)}


def agent_ops_handler(ops: AgentOps, path: Callable[[], str], *,
                      ancestors: Ancestors | None = None, gate: Gate = open_gate,
                      limiter: Limiter | None = None, from_cells: bool = True,
                      max_hops: int = MAX_HOPS) -> grpc.GenericRpcHandler[Any, Any]:
    """The operators' calls of the `Agents` service alone, over `ops`: a
    router's on its cells port (for the cells above: `ancestors` under TLS),
    or the top's client port's (`gate`: tokens; admins only). A router's
    agents report to their leaves, so Report, Watch and SetObjectState are
    not served here (UNIMPLEMENTED)."""
    servicer = AgentOpsServicer(ops, path, Peers(ancestors, here=path), gate, limiter,
                                from_cells, max_hops)
    name = "cellrouter.v1.Agents"
    return grpc.method_handlers_generic_handler(name, handlers(name, servicer, _OPS))
