"""The servicers of a cell's gRPC ports: `Cells` on every cell, `Parent` on routers.

This is the one place where a call's metadata becomes a `model.call.Call`
(hops, deadline, request id, principal), where the hop limit is enforced,
where the request id is set for everything that serves the call
(`model.context.REQUEST_ID`), where per-client limits are applied, and where
errors become status codes (`cells.edge.status`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import grpc
import grpc.aio

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cells.backend import CellCalls, Identity
from cells.edge.decoding import handlers, refuse_malformed
from cells.edge.serve import Edge
from cells.edge.status import to_status
from cells.router import RouterCell
from cells.security.limits import Limiter, Limits
from cells.security.names import ANY_CHILD, NameRule
from cells.security.scope import Gate, open_gate
from cellwire import wire
from cellwire.tls import require_peer
from model.call import Call
from model.compute import Action
from model.errors import NotFound
from routing.children import Child
from routing.fastpath import FastPath

log = logging.getLogger(__name__)
T = TypeVar("T")


class CellsServicer:
    """`cellrouter.v1.Cells` over a cell's calls; served through `cells_handler`."""

    def __init__(self, backend: CellCalls, identity: Identity, max_hops: int,
                 gate: Gate = open_gate, limiter: Limiter | None = None,
                 fast: FastPath | None = None, from_cells: bool = True) -> None:
        """`fast`: a router's fast path, for the calls of everyone or an admin.
        `from_cells`: whether callers may be cells (so hop counts are believed);
        False on a client port, where a hop count is ignored and every call is
        limited."""
        self._backend = backend
        self._fast = fast
        # The identity's path names where errors happened (it may learn it late).
        self._edge = Edge(lambda: identity.path, gate, limiter or Limiter(Limits()),
                          max_hops, from_cells)

    async def _serve(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        work: Callable[[Call], Awaitable[T]],
        reply: Callable[[T], Any],
        request_id: str = "",
    ) -> Any:
        """Serve one call through the edge: `work` does it, `reply` turns its
        result into the response."""
        async def answer(call: Call) -> Any:
            return reply(await work(call))

        return await self._edge.serve(context, answer, request_id)

    # --- the routed methods: bytes in, bytes out

    async def routed(self, method: str, payload: bytes, context: Any) -> bytes:
        """An action, Get or Locate, as the bytes the caller sent. A router
        forwards them as they are when it can (routing.fastpath); otherwise
        they are decoded and served like any call."""
        try:
            request = _REQUESTS[method].FromString(payload)
        except Exception as exc:  # protobuf's DecodeError, or its C twin's
            await refuse_malformed(context, f"{wire.CELLS}/{method}", exc)
        action = wire.action_of(method, request)

        async def work(call: Call) -> bytes:
            # A router answers Locate from its own index when it can (the full path).
            if self._fast is not None and call.principal.admin and method != "Locate":
                answer = await self._fast.forward(method, action, request.uuid, payload, call)
                if answer is not None:
                    return answer
            return await self._decoded(method, action, request, call)

        return await self._serve(context, work, _unchanged)  # type: ignore[no-any-return]

    async def _decoded(self, method: str, action: Action | None, request: Any,
                       call: Call) -> bytes:
        """The full path of a routed method: the backend's own call."""
        if action is not None:
            host = request.host if isinstance(request, pb.UnshelveRequest) else ""
            instance = await self._backend.act(request.uuid, action, request.wait, call, host)
            return wire.instance_to_pb(instance).SerializeToString()
        if method == "Rebuild":
            instance = await self._backend.rebuild(request.uuid, request.image, call)
            return wire.instance_to_pb(instance).SerializeToString()
        if method == "Update":
            instance = await self._backend.update(request.uuid, wire.edit_from_pb(request), call)
            return wire.instance_to_pb(instance).SerializeToString()
        if method == "Get":
            instance = await self._backend.get(request.uuid, call)
            return wire.instance_to_pb(instance).SerializeToString()
        if method == "Actions":
            log = await self._backend.actions(request.uuid, request.request_id, call)
            return wire.action_log_to_pb(log).SerializeToString()
        located = await self._backend.locate(request.uuid, call)
        return wire.located_to_pb(located).SerializeToString()

    # --- the other methods, decoded by gRPC

    async def Boot(self, request: pb.BootRequest, context: Any) -> pb.Instance:
        return await self._serve(  # type: ignore[no-any-return]
            context,
            lambda call: self._backend.boot(wire.boot_from_pb(request), call),
            wire.instance_to_pb,
            # A boot is traced by the key that makes it idempotent, at every cell
            # and in the hypervisor's records: a retry shows up under the same id.
            request_id=request.request_id,
        )

    async def Plan(self, request: pb.BootRequest, context: Any) -> pb.Placement:
        return await self._serve(  # type: ignore[no-any-return]
            context,
            lambda call: self._backend.plan(wire.boot_from_pb(request), call),
            wire.placement_to_pb,
        )

    async def List(self, request: pb.ListRequest, context: Any) -> pb.ListResponse:
        return await self._serve(  # type: ignore[no-any-return]
            context,
            lambda call: self._backend.list(wire.query_from_pb(request), call),
            wire.page_to_pb,
        )

    async def Topology(self, request: pb.TopologyRequest, context: Any) -> pb.CellNode:
        return await self._serve(  # type: ignore[no-any-return]
            context, self._backend.topology, wire.node_to_pb
        )


_REQUESTS: dict[str, Any] = {  # the routed methods, and what each takes
    **dict.fromkeys(wire.ACTION_METHODS.values(), pb.ActionRequest),
    "Reboot": pb.RebootRequest, "Unshelve": pb.UnshelveRequest,
    "Get": pb.GetRequest, "Locate": pb.LocateRequest,
    "Update": pb.UpdateRequest, "Rebuild": pb.RebuildRequest, "Actions": pb.ActionsRequest,
}
_DECODED: dict[str, tuple[Any, Any]] = {  # method: (request, response)
    "Boot": (pb.BootRequest, pb.Instance), "Plan": (pb.BootRequest, pb.Placement),
    "List": (pb.ListRequest, pb.ListResponse), "Topology": (pb.TopologyRequest, pb.CellNode),
}


def _unchanged(answer: bytes) -> bytes:
    return answer


def cells_handler(servicer: CellsServicer) -> grpc.GenericRpcHandler[Any, Any]:
    """The `cellrouter.v1.Cells` service of `servicer`: the routed methods take
    and give bytes, the others are decoded (malformed bytes refused) and encoded."""
    service = wire.CELLS.lstrip("/")
    methods: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        name: grpc.unary_unary_rpc_method_handler(partial(servicer.routed, name))
        for name in _REQUESTS
    }
    methods.update(handlers(service, servicer, _DECODED))
    return grpc.method_handlers_generic_handler(service, methods)


def parent_handler(servicer: ParentServicer) -> grpc.GenericRpcHandler[Any, Any]:
    """The `cellrouter.v1.Parent` service of `servicer`, malformed bytes refused."""
    service = "cellrouter.v1.Parent"
    return grpc.method_handlers_generic_handler(service, handlers(service, servicer, {
        "Register": (pb.RegisterRequest, pb.RegisterResponse),
        "Report": (pb.ReportRequest, pb.ReportResponse),
    }))




class ParentServicer(pb_grpc.ParentServicer):
    """Children join and report here: only those `children` admits (the
    router's `[cell] children`). Under mutual TLS a child may speak only for
    itself: its certificate must name the cell it registers or reports as,
    and be a cell's (role `cell`)."""

    def __init__(self, router: RouterCell, report_interval: float, check_peers: bool,
                 children: NameRule = ANY_CHILD) -> None:
        self._router = router
        self._interval_ms = int(report_interval * 1000)
        self._check_peers = check_peers
        self._children = children
        self._reconciling: set[asyncio.Task[None]] = set()

    async def _reconcile(self, child: Child) -> None:
        try:
            await self._router.reconcile(child)
        except Exception as exc:  # the next registration, or healing, catches up
            log.warning("could not reconcile the index with %s: %s", child.path, exc)

    def _check(self, name: str, context: Any) -> None:
        if self._check_peers:
            require_peer(context.auth_context(), [name], f"speak for cell {name}")
        self._children.check(name, self._router.identity.name)

    async def Register(self, request: pb.RegisterRequest, context: Any) -> pb.RegisterResponse:
        try:
            self._check(request.name, context)
            child = await self._router.children.register(wire.registration_from_pb(request))
        except Exception as exc:
            code, message = to_status(exc, self._router.identity.path)
            await context.abort(code, message)
        log.info("child %s registered at %s", child.path, child.address)
        task = asyncio.create_task(self._reconcile(child))  # answer the child at once
        self._reconciling.add(task)
        task.add_done_callback(self._reconciling.discard)
        return pb.RegisterResponse(path=child.path, report_interval_ms=self._interval_ms)

    async def Report(self, request: pb.ReportRequest, context: Any) -> pb.ReportResponse:
        try:
            self._check(request.name, context)
            child = self._router.on_report(wire.report_from_pb(request))
        except NotFound:
            return pb.ReportResponse(register_again=True)
        except Exception as exc:
            code, message = to_status(exc, self._router.identity.path)
            await context.abort(code, message)
        return pb.ReportResponse(path=child.path)
