"""The servicers of a cell's gRPC ports: `Cells` on every cell, `Parent` on routers.

This is the one place where a call's metadata becomes a `routing.call.Call`
(hops, deadline, request id, principal), where the hop limit is enforced,
where the request id is set for everything that serves the call
(`model.context.REQUEST_ID`), where per-client limits are applied, and where
errors become status codes (`cells.edge.status`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import grpc
import grpc.aio

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cells.backend import CellCalls, Identity
from cells.edge import wire
from cells.edge.status import to_status
from cells.router import RouterCell
from cells.security.limits import Limiter, Limits
from cells.security.scope import Gate, open_gate
from cells.security.tls import require_peer
from model.compute import Action
from model.context import REQUEST_ID
from model.errors import NotFound
from routing.call import Call
from routing.children import Child
from routing.errors import HopLimitExceeded

log = logging.getLogger(__name__)
T = TypeVar("T")


class CellsServicer(pb_grpc.CellsServicer):
    def __init__(self, backend: CellCalls, identity: Identity, max_hops: int,
                 gate: Gate = open_gate, limiter: Limiter | None = None) -> None:
        self._backend = backend
        self._identity = identity  # whose path error messages name
        self._max_hops = max_hops
        self._gate = gate
        self._limiter = limiter or Limiter(Limits())

    async def _serve(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        work: Callable[[Call], Awaitable[T]],
        reply: Callable[[T], Any],
        request_id: str = "",
    ) -> Any:
        """Serve one call: `work` does it, `reply` turns its result into the
        response. `request_id` replaces the caller's (a boot's own)."""
        metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        call = Call.from_metadata(metadata, context.time_remaining())
        if request_id:
            call = replace(call, request_id=request_id[:128])
        REQUEST_ID.set(call.request_id)  # the one place; this call's task only
        try:
            call = replace(call, principal=self._gate(metadata, context.auth_context()))
            if call.hops >= self._max_hops:
                raise HopLimitExceeded(
                    f"request crossed {call.hops} cells, over the limit of {self._max_hops}:"
                    " is there a loop in the tree?"
                )
            if call.hops:  # from a cell above: limited where the client called
                return reply(await work(call))
            with self._limiter.admit(call.principal.token_id or _peer_host(context.peer())):
                return reply(await work(call))
        except Exception as exc:
            code, message = to_status(exc, self._identity.path)
            if code is grpc.StatusCode.INTERNAL:
                log.exception("request %s failed", call.request_id)
            await context.abort(code, message)

    async def _act(self, request: Any, context: Any, action: Action) -> pb.Instance:
        return await self._serve(  # type: ignore[no-any-return]
            context,
            lambda call: self._backend.act(request.uuid, action, request.wait, call),
            wire.instance_to_pb,
        )

    async def Boot(self, request: pb.BootRequest, context: Any) -> pb.Instance:
        return await self._serve(  # type: ignore[no-any-return]
            context,
            lambda call: self._backend.boot(wire.boot_from_pb(request), call),
            wire.instance_to_pb,
            # A boot is traced by the key that makes it idempotent, at every cell
            # and in the hypervisor's records: a retry shows up under the same id.
            request_id=request.request_id,
        )

    async def Pause(self, request: pb.ActionRequest, context: Any) -> pb.Instance:
        return await self._act(request, context, Action.PAUSE)

    async def Unpause(self, request: pb.ActionRequest, context: Any) -> pb.Instance:
        return await self._act(request, context, Action.UNPAUSE)

    async def Suspend(self, request: pb.ActionRequest, context: Any) -> pb.Instance:
        return await self._act(request, context, Action.SUSPEND)

    async def Resume(self, request: pb.ActionRequest, context: Any) -> pb.Instance:
        return await self._act(request, context, Action.RESUME)

    async def Reboot(self, request: pb.RebootRequest, context: Any) -> pb.Instance:
        action = Action.REBOOT_HARD if request.hard else Action.REBOOT
        return await self._act(request, context, action)

    async def Stop(self, request: pb.ActionRequest, context: Any) -> pb.Instance:
        return await self._act(request, context, Action.STOP)

    async def Start(self, request: pb.ActionRequest, context: Any) -> pb.Instance:
        return await self._act(request, context, Action.START)

    async def Delete(self, request: pb.ActionRequest, context: Any) -> pb.Instance:
        return await self._act(request, context, Action.DELETE)

    async def Plan(self, request: pb.BootRequest, context: Any) -> pb.Placement:
        return await self._serve(  # type: ignore[no-any-return]
            context,
            lambda call: self._backend.plan(wire.boot_from_pb(request), call),
            wire.placement_to_pb,
        )

    async def Get(self, request: pb.GetRequest, context: Any) -> pb.Instance:
        return await self._serve(  # type: ignore[no-any-return]
            context, lambda call: self._backend.get(request.uuid, call), wire.instance_to_pb
        )

    async def List(self, request: pb.ListRequest, context: Any) -> pb.ListResponse:
        return await self._serve(  # type: ignore[no-any-return]
            context,
            lambda call: self._backend.list(wire.query_from_pb(request), call),
            wire.page_to_pb,
        )

    async def Locate(self, request: pb.LocateRequest, context: Any) -> pb.LocateResponse:
        return await self._serve(  # type: ignore[no-any-return]
            context, lambda call: self._backend.locate(request.uuid, call), wire.located_to_pb
        )

    async def Topology(self, request: pb.TopologyRequest, context: Any) -> pb.CellNode:
        return await self._serve(  # type: ignore[no-any-return]
            context, self._backend.topology, wire.node_to_pb
        )


def _peer_host(peer: str) -> str:
    """"ipv4:127.0.0.1:5555" -> "ipv4:127.0.0.1": a client is its address, not its port."""
    return peer.rpartition(":")[0] or peer


class ParentServicer(pb_grpc.ParentServicer):
    """Children join and report here. Under mutual TLS a child may speak only
    for itself: its certificate must name the cell it registers or reports as."""

    def __init__(self, router: RouterCell, report_interval: float, check_peers: bool) -> None:
        self._router = router
        self._interval_ms = int(report_interval * 1000)
        self._check_peers = check_peers
        self._reconciling: set[asyncio.Task[None]] = set()

    async def _reconcile(self, child: Child) -> None:
        try:
            await self._router.reconcile(child)
        except Exception as exc:  # the next registration, or healing, catches up
            log.warning("could not reconcile the index with %s: %s", child.path, exc)

    def _check(self, name: str, context: Any) -> None:
        if self._check_peers:
            require_peer(context.auth_context(), [name], f"speak for cell {name}")

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
