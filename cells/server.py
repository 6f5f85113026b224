"""The gRPC side of a cell: servicers, and `CellServer`, which runs one cell.

`CellServer(config)` opens the cell's database, builds its logic (a
`LeafCell` or a `RouterCell`), serves `Cells` (and `Parent` on routers), the
standard health service and server reflection, and keeps the uplink to the
parent alive. It runs in an asyncio loop; `cells.embed` runs it in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from bestmatch.api import Selector
from bestmatch.errors import PluginError
from bestmatch.plugins import build_selector
from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cells import wire
from cells.auth import TokenStore
from cells.backend import CellBackend, CellCalls, Identity
from cells.call import Call
from cells.config import CellConfig
from cells.decoding import DecodeGuard
from cells.errors import ConfigError, NotFound
from cells.leaf import HostPolicy, LeafCell
from cells.limits import Limiter, Limits
from cells.logs import REQUEST_ID as LOG_REQUEST_ID
from cells.membership import Child, Children
from cells.metrics import CellMetrics
from cells.router import RouterCell
from cells.scope import Gate, PeerGate, ScopedCells, TokenGate, open_gate
from cells.status import to_status
from cells.tls import require_peer
from cells.topology import CellKind
from cells.uplink import Uplink
from routing.errors import HopLimitExceeded
from routing.index import LocationIndex
from virt.loader import load_driver
from virt.model import Action

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVER_OPTIONS = [
    # Refuse to share a port with another process: two cells on one port
    # would split the traffic between them.
    ("grpc.so_reuseport", 0),
    ("grpc.max_receive_message_length", 4 * 1024 * 1024),
]


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
    ) -> Any:
        metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        call = Call.from_metadata(metadata, context.time_remaining())
        LOG_REQUEST_ID.set(call.request_id)  # this call's task only
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


class CellServer:
    """One cell, serving on its configured address."""

    def __init__(self, config: CellConfig) -> None:
        self.config = config
        self.identity = Identity(config.name, config.listen, config.name,
                                 CellKind.LEAF if config.is_leaf else CellKind.ROUTER,
                                 config.tls.load() if config.tls else None)
        self.backend: CellBackend | None = None
        self.client_address = ""  # where clients call, when the cell has a client port
        self._servers: list[grpc.aio.Server] = []
        self._limiter = Limiter(config.limits)  # shared by both ports: one budget per client
        self._metrics: CellMetrics | None = None
        self.metrics_address = ""
        self._uplink: Uplink | None = None
        self._uplink_task: asyncio.Task[None] | None = None
        self._index: LocationIndex | None = None

    @property
    def address(self) -> str:
        return self.identity.address

    async def start(self) -> str:
        """Open the database, start serving, join the parent. Returns the address."""
        cfg = self.config
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        known = cfg.state_dir / "path"
        if cfg.parent and known.exists():
            self.identity.path = known.read_text().strip() or cfg.name
        self._index = LocationIndex.open(cfg.db_url, cfg.cache_size, cfg.cache_ttl)
        if cfg.metrics_listen:
            self._metrics = CellMetrics(self._index, lambda: self.backend)
        tls = self.identity.tls
        cells_port, port = self._server_on(
            cfg.listen, tls.cells_port() if tls else None, "cells")
        host = cfg.listen.rpartition(":")[0]
        self.identity.address = cfg.advertise or f"{host}:{port}"
        self.backend = backend = self._build_backend(self._index)
        if isinstance(backend, LeafCell):
            await backend.recover()
        gate: Gate = PeerGate(self.identity.ancestors) if tls else open_gate
        health_servicers = [self._serve_cells(cells_port, backend, gate)]
        if isinstance(backend, RouterCell):
            parent = ParentServicer(backend, cfg.report_interval, check_peers=tls is not None)
            pb_grpc.add_ParentServicer_to_server(parent, cells_port)  # type: ignore[no-untyped-call]
        if cfg.client_listen:
            clients_port, port = self._server_on(
                cfg.client_listen, tls.clients_port() if tls else None, "clients")
            self.client_address = f"{cfg.client_listen.rpartition(':')[0]}:{port}"
            client_gate = TokenGate(TokenStore(cfg.tokens_file)) if cfg.tokens_file else open_gate
            health_servicers.append(
                self._serve_cells(clients_port, ScopedCells(backend), client_gate))
        for server in self._servers:
            await server.start()
        await backend.refresh()
        for health_servicer in health_servicers:
            await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        if cfg.parent:
            self._uplink = Uplink(backend, cfg.parent, cfg.report_interval, cfg.parent_name,
                                  remember=self._remember_path)
            self._uplink_task = asyncio.create_task(self._uplink.run())
        (cfg.state_dir / "address").write_text(self.identity.address + "\n")
        if self.client_address:
            (cfg.state_dir / "client-address").write_text(self.client_address + "\n")
        if self._metrics is not None:
            port = self._metrics.serve(cfg.metrics_listen)
            self.metrics_address = f"{cfg.metrics_listen.rpartition(':')[0]}:{port}"
            (cfg.state_dir / "metrics-address").write_text(self.metrics_address + "\n")
        log.info("cell %s (%s) serving cells on %s%s%s", cfg.name, self.identity.kind.value,
                 self.identity.address, " (mutual TLS)" if tls else " (insecure: no TLS)",
                 f", clients on {self.client_address}" if self.client_address else "")
        return self.identity.address

    def _remember_path(self, path: str) -> None:
        """Kept across restarts: a restarted cell answers with its full path at
        once, before its parent has heard from it again."""
        (self.config.state_dir / "path").write_text(path + "\n")

    def _server_on(self, address: str, credentials: grpc.ServerCredentials | None,
                   role: str) -> tuple[grpc.aio.Server, int]:
        interceptors: list[Any] = [self._metrics.interceptor()] if self._metrics else []
        interceptors.append(DecodeGuard())  # undecodable bytes: INVALID_ARGUMENT, not UNKNOWN
        server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=interceptors,
                                 maximum_concurrent_rpcs=self.config.limits.max_concurrent_rpcs)
        port = (server.add_secure_port(address, credentials) if credentials is not None
                else server.add_insecure_port(address))
        if port == 0:
            raise ConfigError(f"cell {self.config.name} cannot listen for {role} on {address}"
                              " (address in use?)")
        self._servers.append(server)
        return server, port

    def _serve_cells(self, server: grpc.aio.Server, calls: CellCalls, gate: Gate) -> Any:
        """Cells, health and reflection on `server`; returns its health servicer."""
        servicer = CellsServicer(calls, self.identity, self.config.max_hops, gate, self._limiter)
        pb_grpc.add_CellsServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
        health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        services = [pb.DESCRIPTOR.services_by_name["Cells"].full_name,
                    health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                    reflection.SERVICE_NAME]
        if isinstance(calls, RouterCell):
            services.append(pb.DESCRIPTOR.services_by_name["Parent"].full_name)
        reflection.enable_server_reflection(services, server)
        return health_servicer

    def _build_backend(self, index: LocationIndex) -> CellBackend:
        cfg = self.config
        if cfg.leaf is not None:
            driver = load_driver(cfg.leaf.driver, cfg.leaf.options, cfg.leaf.hosts,
                                 cfg.state_dir)
            policies = {str(h.get("name")): HostPolicy.from_config(h) for h in cfg.leaf.hosts}
            return LeafCell(self.identity, driver, index, self._selector(), policies,
                            cfg.flavors, sync_every=cfg.report_interval)
        children = Children(index.engine, self.identity, cfg.report_interval * cfg.down_after)
        return RouterCell(self.identity, children, index, self._selector(),
                          cfg.child_timeout, cfg.list_timeout, cfg.direct_to_leaf,
                          cfg.pause_as_suspend)

    def _selector(self) -> Selector:
        try:
            return build_selector(self.config.selection)
        except PluginError as exc:
            raise ConfigError(f"cell {self.config.name}: {exc}") from exc

    async def registered(self, timeout: float) -> None:
        """Wait until the parent has accepted this cell (at once for the top)."""
        if self._uplink is not None:
            await asyncio.wait_for(self._uplink.registered.wait(), timeout)

    async def wait(self) -> None:
        if self._servers:
            await self._servers[0].wait_for_termination()

    async def stop(self, grace: float = 1.0) -> None:
        if self._uplink_task is not None:
            self._uplink_task.cancel()
            await asyncio.gather(self._uplink_task, return_exceptions=True)
        if self._uplink is not None:
            await self._uplink.close()
        await asyncio.gather(*(server.stop(grace) for server in self._servers))
        if self._metrics is not None:
            self._metrics.close()
        if self.backend is not None:
            await self.backend.close()
        if self._index is not None:
            self._index.close()
