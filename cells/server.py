"""`CellServer`, which runs one cell: the composition root.

`CellServer(config)` opens the cell's database, makes the links to other
cells (`cells.links`), builds its logic (a `LeafCell`, or a `RouterCell` over
`routing/`), serves `Cells` (and `Parent` on routers) through the servicers
of `cells.edge`, the standard health service and server reflection, and
keeps the uplink to the parent alive. It runs in an asyncio loop;
`cells.embed` runs it in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from agents.objects import ObjectStore
from agents.registry import AgentRegistry
from agents.service import ObjectService
from bestmatch.api import Selector
from bestmatch.errors import PluginError
from bestmatch.plugins import build_selector, load_filters
from cells.backend import CellBackend, CellCalls, Identity
from cells.config import CellConfig
from cells.edge.agents import (
    AgentOps,
    LeafAgentOps,
    LeafObjects,
    ObjectsBackend,
    agent_ops_handler,
    agents_handler,
    objects_handler,
)
from cells.edge.servicers import CellsServicer, ParentServicer, cells_handler, parent_handler
from cells.hosts import HostPolicy
from cells.leaf import LeafCell
from cells.links import Links
from cells.object_notify import ObjectNotices
from cells.observability.metrics import CellMetrics, NotifyFigures
from cells.outcomes import ActionOutcomes
from cells.router import RouterCell
from cells.router_notify import RouterNotices
from cells.security.auth import TokenStore
from cells.security.limits import Limiter
from cells.security.names import NameRule
from cells.security.scope import Gate, PeerGate, ScopedCells, TokenGate, open_gate
from cells.standby import ActiveLock
from cells.uplink import Uplink, stand_by
from cellwire.channels import split_addresses
from cellwire.wire import service_name
from model.cells import CellKind
from model.config import ConfigError
from notify.amqp import AmqpSender
from notify.envelope import ROUTER_PUBLISHER
from notify.outbox import Outbox
from routing.agents_below import AgentsBelow
from routing.children import Children
from routing.index import LocationIndex
from routing.objects import ObjectRouter
from virt.loader import load_driver

log = logging.getLogger(__name__)

SERVER_OPTIONS = [
    # Refuse to share a port with another process: two cells on one port
    # would split the traffic between them.
    ("grpc.so_reuseport", 0),
    ("grpc.max_receive_message_length", 4 * 1024 * 1024),
]


class CellServer:
    """One cell, serving on its configured address."""

    def __init__(self, config: CellConfig) -> None:
        self.config = config
        self.identity = Identity(config.name, config.listen, config.name,
                                 CellKind.LEAF if config.is_leaf else CellKind.ROUTER,
                                 config.tls.load() if config.tls else None,
                                 driver=config.leaf.shown_as if config.leaf else "",
                                 open_client_port=bool(config.client_listen)
                                 and config.client_auth == "none")
        self._links = Links(self.identity.tls)  # every gRPC client to another cell
        self.backend: CellBackend | None = None
        self.client_address = ""  # where clients call, when the cell has a client port
        self._servers: list[grpc.aio.Server] = []
        self._limiter = Limiter(config.limits)  # shared by both ports: one budget per client
        self._metrics: CellMetrics | None = None
        self.metrics_address = ""
        self._active: ActiveLock | None = None
        self._uplinks: list[Uplink] = []  # one per replica of the parent
        self._uplink_tasks: list[asyncio.Task[None]] = []
        self._background: list[asyncio.Task[None]] = []  # failover rounds, senders, looks
        self._index: LocationIndex | None = None
        self._outbox: Outbox | None = None  # with notifications on
        self._sender: AmqpSender | None = None

    @property
    def address(self) -> str:
        return self.identity.address

    def path(self) -> str:
        """This cell's full path, as it knows it now."""
        return self.identity.path

    async def _acquire(self, lock: ActiveLock) -> None:
        """Take the active lock; while waiting for it, tell the parents that a
        standby is there (when its address is known before it serves)."""
        cfg = self.config
        address = cfg.advertise or cfg.listen
        if not cfg.parent or address.endswith(":0"):
            await lock.acquire()
            return
        parents = [self._links.parent(a, cfg.parent_name, cfg.report_interval)
                   for a in split_addresses(cfg.parent)]
        telling = asyncio.create_task(stand_by(parents, cfg.name, address, cfg.report_interval))
        try:
            await lock.acquire()
        finally:
            telling.cancel()
            await asyncio.gather(telling, return_exceptions=True)
            for parent in parents:
                await parent.close()

    async def start(self) -> str:
        """Open the database, start serving, join the parent. Returns the address."""
        cfg = self.config
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        if cfg.active_lock:  # a leaf with a standby: one of the two acts (cells.standby)
            self._active = ActiveLock(cfg.db_url, cfg.name, on_lost=_stop_now)
            await self._acquire(self._active)
        index = self._open_index()
        cells_port = self._listen_for_cells()
        self.backend = backend = self._build_backend(index)
        if isinstance(backend, LeafCell):
            await backend.recover()
        self._send_notifications()
        health_servicers = self._add_services(cells_port, backend, index)
        for server in self._servers:
            await server.start()
        await backend.refresh()
        for health_servicer in health_servicers:
            await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        if cfg.parent:
            self._join_parents(backend)
        self._write_addresses()
        log.info("cell %s (%s, %s loop) serving cells on %s%s%s", cfg.name,
                 self.identity.kind.value, type(asyncio.get_running_loop()).__module__,
                 self.identity.address,
                 " (mutual TLS)" if self.identity.tls else " (insecure: no TLS)",
                 f", clients on {self.client_address}" if self.client_address else "")
        return self.identity.address

    def _open_index(self) -> LocationIndex:
        """The path this cell last had (kept across restarts), and its database."""
        cfg = self.config
        known = cfg.state_dir / "path"
        if cfg.parent and known.exists():
            self.identity.path = known.read_text().strip() or cfg.name
        self._index = LocationIndex.open(cfg.db_url, cfg.cache_size, cfg.cache_ttl)
        if cfg.metrics_listen:
            self._metrics = CellMetrics(self._index, lambda: self.backend, self._notified)
        return self._index

    def _listen_for_cells(self) -> grpc.aio.Server:
        """The cells' port, bound (not yet serving); sets the address to advertise."""
        cfg, tls = self.config, self.identity.tls
        cells_port, port = self._server_on(
            cfg.listen, tls.cells_port() if tls else None, "cells")
        host = cfg.listen.rpartition(":")[0]
        self.identity.address = cfg.advertise or f"{host}:{port}"
        return cells_port

    def _add_services(self, cells_port: grpc.aio.Server, backend: CellBackend,
                      index: LocationIndex) -> list[Any]:
        """Every service on the cells' port and the client port; returns their
        health servicers."""
        cfg, tls = self.config, self.identity.tls
        gate: Gate = PeerGate(self.identity.ancestors) if tls else open_gate
        # Both ports scope calls: a caller may narrow itself to a project on either.
        health_servicers = [self._serve_cells(cells_port, ScopedCells(backend, cfg.catalog), gate)]
        if isinstance(backend, RouterCell):
            objects, agents = self._serve_router(cells_port, backend, index)
        else:  # a leaf: agents report here (service objects on agents)
            assert isinstance(backend, LeafCell)
            objects, agents = self._serve_agents(cells_port, backend, index)
        # Service objects on both ports, as instances: the cells above, and clients.
        cells_port.add_generic_rpc_handlers(
            (objects_handler(objects, self.path, gate, self._limiter,
                             max_hops=cfg.max_hops),))
        if cfg.client_listen:
            health_servicers.append(self._serve_clients(backend, objects, agents))
        return health_servicers

    def _serve_router(self, cells_port: grpc.aio.Server, backend: RouterCell,
                      index: LocationIndex) -> tuple[ObjectsBackend, AgentOps]:
        """The Parent service for the children, and the operators' calls on
        the agents below; returns where objects are routed, and the agents."""
        cfg, tls = self.config, self.identity.tls
        parent = ParentServicer(backend, cfg.report_interval,
                                check_peers=tls is not None,
                                children=NameRule.children(cfg.children))
        agents = AgentsBelow(backend.children, self.identity, cfg.child_timeout)
        cells_port.add_generic_rpc_handlers((parent_handler(parent), agent_ops_handler(
            agents, self.path, ancestors=self.identity.ancestors if tls else None,
            limiter=self._limiter, max_hops=cfg.max_hops)))
        return ObjectRouter(index.engine, backend.children, self.identity,
                            cfg.child_timeout), agents

    def _serve_agents(self, cells_port: grpc.aio.Server, backend: LeafCell,
                      index: LocationIndex) -> tuple[ObjectsBackend, AgentOps]:
        """The Agents service, and the failover rounds; returns the leaf's
        objects and agents."""
        cfg, tls = self.config, self.identity.tls
        registry = AgentRegistry(index.engine, cfg.agent_down_after)
        # Binding changes and their events commit together (cells.object_notify).
        notices = ObjectNotices(self._outbox, self.path) if self._outbox is not None else None
        service = ObjectService(registry, ObjectStore(index.engine, notices=notices),
                                failover=cfg.agent_failover,
                                filters=load_filters(cfg.agent_filters,
                                                     cfg.agent_filter_options))
        self._background.append(asyncio.create_task(service.keep_failing_over()))
        backend.agents_offered = registry.offers
        cells_port.add_generic_rpc_handlers((agents_handler(
            service, self.path, self.identity.ancestors if tls else None,
            NameRule.agents(cfg.agent_ids), self._limiter, cfg.max_hops),))
        return LeafObjects(service, self.path), LeafAgentOps(service, self.path)

    def _serve_clients(self, backend: CellBackend, objects: ObjectsBackend,
                       agents: AgentOps) -> Any:
        """The client port: cells, objects and (for admins) the agents; returns
        its health servicer."""
        cfg, tls = self.config, self.identity.tls
        clients_port, port = self._server_on(
            cfg.client_listen, tls.clients_port() if tls else None, "clients")
        self.client_address = f"{cfg.client_listen.rpartition(':')[0]}:{port}"
        client_gate = self._client_gate()
        health_servicer = self._serve_cells(
            clients_port, ScopedCells(backend, cfg.catalog), client_gate, from_cells=False)
        clients_port.add_generic_rpc_handlers(
            (objects_handler(objects, self.path, client_gate, self._limiter,
                             from_cells=False, max_hops=cfg.max_hops),
             agent_ops_handler(agents, self.path, gate=client_gate, limiter=self._limiter,
                               from_cells=False, max_hops=cfg.max_hops)))
        return health_servicer

    def _join_parents(self, backend: CellBackend) -> None:
        """Register and report to the parent. A parent that runs as several
        replicas is given as their addresses, joined with commas: this cell
        registers and reports to each."""
        cfg = self.config
        for address in split_addresses(cfg.parent):
            link = self._links.parent(address, cfg.parent_name, cfg.report_interval)
            uplink = Uplink(backend, link, cfg.report_interval, remember=self._remember_path)
            self._uplinks.append(uplink)
            self._uplink_tasks.append(asyncio.create_task(uplink.run()))

    def _write_addresses(self) -> None:
        """Where this cell serves (and its metrics, started here), in its state directory."""
        cfg = self.config
        (cfg.state_dir / "address").write_text(self.identity.address + "\n")
        if self.client_address:
            (cfg.state_dir / "client-address").write_text(self.client_address + "\n")
        if self._metrics is not None:
            port = self._metrics.serve(cfg.metrics_listen)
            self.metrics_address = f"{cfg.metrics_listen.rpartition(':')[0]}:{port}"
            (cfg.state_dir / "metrics-address").write_text(self.metrics_address + "\n")

    def _client_gate(self) -> Gate:
        """Tokens on the client port; open only when the config says client_auth
        = "none" (cells.config refuses a client port with neither)."""
        cfg = self.config
        if cfg.tokens_file is not None:
            return TokenGate(TokenStore(cfg.tokens_file))
        if cfg.client_auth != "none":  # a CellConfig built by hand, not by cells.config
            raise ConfigError(f"cell {cfg.name}: client_listen without [auth] needs"
                              ' client_auth = "none"')
        log.warning("cell %s serves its client port %s to anyone who reaches it, as admin,"
                    ' without tokens (client_auth = "none")', cfg.name, cfg.client_listen)
        return open_gate

    def _remember_path(self, path: str) -> None:
        """Kept across restarts: a restarted cell answers with its full path at
        once, before its parent has heard from it again."""
        (self.config.state_dir / "path").write_text(path + "\n")

    def _server_on(self, address: str, credentials: grpc.ServerCredentials | None,
                   role: str) -> tuple[grpc.aio.Server, int]:
        interceptors: list[Any] = [self._metrics.interceptor()] if self._metrics else []
        server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=interceptors,
                                 maximum_concurrent_rpcs=self.config.limits.max_concurrent_rpcs)
        port = (server.add_secure_port(address, credentials) if credentials is not None
                else server.add_insecure_port(address))
        if port == 0:
            raise ConfigError(f"cell {self.config.name} cannot listen for {role} on {address}"
                              " (address in use?)")
        self._servers.append(server)
        return server, port

    def _serve_cells(self, server: grpc.aio.Server, calls: CellCalls, gate: Gate,
                     from_cells: bool = True) -> Any:
        """Cells, health and reflection on `server`; returns its health servicer."""
        fast = self.backend.fast if isinstance(self.backend, RouterCell) else None
        servicer = CellsServicer(calls, self.identity, self.config.max_hops, gate, self._limiter,
                                 fast, from_cells)
        server.add_generic_rpc_handlers((cells_handler(servicer),))
        health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        services = [service_name("Cells"),
                    health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                    reflection.SERVICE_NAME]
        if isinstance(self.backend, RouterCell):
            services.append(service_name("Parent"))
        reflection.enable_server_reflection(services, server)
        return health_servicer

    def _build_backend(self, index: LocationIndex) -> CellBackend:
        cfg = self.config
        if cfg.leaf is not None:
            driver = load_driver(cfg.leaf.driver, cfg.leaf.options, cfg.leaf.hosts,
                                 cfg.state_dir)
            policies = {str(h.get("name")): HostPolicy.from_config(h) for h in cfg.leaf.hosts}
            if cfg.notifications.enabled:
                self._outbox = Outbox(index, self.path, cfg.notifications.max_outbox)
            return LeafCell(self.identity, driver, index, self._selector(), policies,
                            cfg.flavors, sync_every=cfg.report_interval,
                            outcomes=ActionOutcomes(index), catalog=cfg.catalog,
                            outbox=self._outbox)
        listener = None
        if cfg.notifications.enabled:  # cell.down and cell.up (cells.router_notify)
            self._outbox = Outbox(index, self.path, cfg.notifications.max_outbox,
                                  role=ROUTER_PUBLISHER)
            listener = RouterNotices(self._outbox, self.path)
        children = Children(index.engine, self.identity, cfg.report_interval * cfg.down_after,
                            connect=self._links.cell, listener=listener)
        if listener is not None:
            self._background.append(asyncio.create_task(
                children.keep_looking(cfg.report_interval)))
        return RouterCell(self.identity, children, index, self._selector(),
                          cfg.child_timeout, cfg.list_timeout, cfg.direct_to_leaf,
                          cfg.pause_as_suspend, connect=self._links.cell)

    def _send_notifications(self) -> None:
        """A cell with notifications on: its sender drains the outbox (notify.amqp)."""
        if self._outbox is None:
            return
        self._sender = AmqpSender(self._outbox, self.config.notifications)
        self._background.append(asyncio.create_task(self._sender.run()))
        log.info("cell %s sends notifications to exchange %s at %s", self.config.name,
                 self.config.notifications.exchange, self.config.notifications.shown_url)

    def _notified(self) -> NotifyFigures | None:
        """The outbox's and the sender's figures, for the metrics."""
        if self._outbox is None:
            return None
        return NotifyFigures(self._outbox.stats(),
                             self._sender.stats() if self._sender is not None else None)

    def _selector(self) -> Selector:
        try:
            return build_selector(self.config.selection)
        except PluginError as exc:
            raise ConfigError(f"cell {self.config.name}: {exc}") from exc

    async def registered(self, timeout: float) -> None:
        """Wait until the parent has accepted this cell (at once for the top)."""
        if self._uplinks:
            waits = [asyncio.create_task(u.registered.wait()) for u in self._uplinks]
            try:  # one replica of the parent is enough to be routed to
                done, _ = await asyncio.wait(waits, timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    task.cancel()
            if not done:
                raise TimeoutError(f"no parent accepted cell {self.config.name}")

    async def wait(self) -> None:
        if self._servers:
            await self._servers[0].wait_for_termination()

    async def stop(self, grace: float = 1.0) -> None:
        for task in (*self._uplink_tasks, *self._background):
            task.cancel()
        await asyncio.gather(*self._uplink_tasks, *self._background, return_exceptions=True)
        for uplink in self._uplinks:
            await uplink.close()
        await asyncio.gather(*(server.stop(grace) for server in self._servers))
        if self._metrics is not None:
            self._metrics.close()
        if self.backend is not None:
            await self.backend.close()
        if self._index is not None:
            self._index.close()
        if self._active is not None:
            self._active.release()  # last: the standby may act once this is gone


def _stop_now() -> None:
    """A process that lost its active lock must not act one moment more."""
    logging.shutdown()
    os._exit(70)

