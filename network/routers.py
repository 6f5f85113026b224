"""Routers, KEPT AS RECORDS: NOTHING ROUTES.

There is no L3 agent. A router here is a row (name, admin_state_up,
description, its project) with its interfaces, ports on its subnets
(network.router_interfaces); no agent forwards between those subnets, no
namespace or gateway is built, and a router's interface ports stay DOWN.
No network is external, so no router has an external gateway
(`external_gateway_info` is null; one asked for is refused). The records are
enough for clients that keep routers (and Tempest's port list by a router's
id); the Networking API does not list the `router` extension, so nothing
expects traffic to cross them.

As in Neutron: a router is its project's (an admin sees all); one with
interfaces is not deleted (RouterInUse); an interface's port is deleted
through the router, not the port API (L3PortInUse).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, RowMapping, delete, insert, select, true
from sqlalchemy import update as update_stmt

from celldb.store import transaction
from network import router_interfaces, tables
from network.errors import RouterInUse, bad_router_request, invalid, not_found, router_not_found
from network.listing import filtered, paged
from network.policy import project_for
from network.ports import PortStore
from network.resources import (
    Caller,
    Changes,
    InterfaceRequest,
    ListQuery,
    Router,
    RouterInterface,
    RouterSpec,
)
from network.rows import locked, marker_row, writing

r = tables.routers
COLUMNS = {c.name: c for c in r.columns}
SORTABLE = frozenset(COLUMNS)
UPDATABLE = frozenset({"name", "admin_state_up", "description", "gateway_network"})
ACTIVE = "ACTIVE"  # Neutron's status of a router its agent serves; here, of every one


class RouterStore:
    """The routers table and their interfaces. Every method may raise
    DatabaseUnavailable."""

    def __init__(self, engine: Engine, ports: PortStore) -> None:
        self.engine, self.ports = engine, ports

    def create(self, caller: Caller, spec: RouterSpec) -> Router:
        """A new router (ACTIVE, no interfaces). NotAuthorized for a member
        naming another project; an external gateway is refused (InvalidInput,
        or NotFound for a network the caller does not see)."""
        project = project_for(caller, spec.project, "create_router")
        now = time.time()
        row = {"id": str(uuid.uuid4()), "name": spec.name, "project": project,
               "admin_state_up": spec.admin_state_up, "status": ACTIVE,
               "description": spec.description, "created_at": now, "updated_at": now}
        with writing(self.engine, "routers") as conn:
            _no_gateway(conn, caller, spec.gateway_network)
            conn.execute(insert(r).values(row))
        return _router(row)

    def show(self, caller: Caller, ident: str) -> Router:
        with transaction(self.engine, "routers") as conn:
            row = conn.execute(select(r).where(r.c.id == ident, _visible(caller))).first()
        if row is None:
            raise router_not_found(ident)
        return _router(row._mapping)

    def list(self, caller: Caller, ask: ListQuery) -> list[Router]:
        query = filtered(select(r).where(_visible(caller)), COLUMNS, ask.filters)
        with transaction(self.engine, "routers") as conn:
            marker = marker_row(conn, r, ask.marker)
            if ask.marker and marker is None:
                raise router_not_found(ask.marker)
            found = [_router(x._mapping)
                     for x in conn.execute(paged(query, COLUMNS, SORTABLE, ask, marker))]
        return found[::-1] if ask.page_reverse else found

    def update(self, caller: Caller, ident: str, changes: Changes) -> Router:
        """Change name, description or admin_state_up; `gateway_network` as
        `create` says."""
        values = dict(changes.values)
        if set(values) - UPDATABLE:
            raise invalid(f"Cannot update {', '.join(sorted(set(values) - UPDATABLE))}")
        gateway = str(values.pop("gateway_network", "") or "")
        with writing(self.engine, "routers") as conn:
            _owned(conn, caller, ident)
            _no_gateway(conn, caller, gateway)
            conn.execute(update_stmt(r).where(r.c.id == ident)
                         .values(**values, updated_at=time.time()))
        return self.show(caller, ident)

    def delete(self, caller: Caller, ident: str) -> None:
        """Delete the router; RouterInUse while it has interfaces."""
        with writing(self.engine, "routers") as conn:
            _owned(conn, caller, ident)
            rp = tables.router_ports
            if conn.execute(select(rp.c.port_id).where(rp.c.router_id == ident)
                            .limit(1)).first() is not None:
                raise RouterInUse(f"Router {ident} still has ports")
            conn.execute(delete(r).where(r.c.id == ident))

    def add_interface(self, caller: Caller, ident: str, asked: InterfaceRequest
                      ) -> RouterInterface:
        """Add an interface, with the router's row locked: as
        network.router_interfaces.add says. NotFound for a router the caller
        does not see."""
        with writing(self.engine, "routers") as conn:
            _owned(conn, caller, ident)
            return router_interfaces.add(conn, self.ports, caller, ident, asked)

    def remove_interface(self, caller: Caller, ident: str, asked: InterfaceRequest
                         ) -> RouterInterface:
        """Remove an interface, with the router's row locked: as
        network.router_interfaces.remove says."""
        with writing(self.engine, "routers") as conn:
            _owned(conn, caller, ident)
            return router_interfaces.remove(conn, self.ports, caller, ident, asked)


def _router(row: Mapping[Any, Any]) -> Router:
    return Router(id=row["id"], name=row["name"], project=row["project"],
                  admin_state_up=bool(row["admin_state_up"]), status=row["status"],
                  created_at=float(row["created_at"]), updated_at=float(row["updated_at"]),
                  description=row["description"])


def _no_gateway(conn: Connection, caller: Caller, network_id: str) -> None:
    """Refuse an external gateway on `network_id` ("": none asked): no
    network is external here."""
    if not network_id:
        return
    n = tables.networks
    row = conn.execute(select(n.c.project, n.c.shared).where(n.c.id == network_id)).first()
    if row is None or not caller.sees(row.project, row.shared):
        raise not_found("Network", network_id)
    raise bad_router_request(f"Network {network_id} is not an external network")


def _owned(conn: Connection, caller: Caller, ident: str) -> RowMapping:
    """The router's row, locked; NotFound unless the caller sees it."""
    row = locked(conn, r, ident)
    if row is None or not caller.sees(row["project"]):
        raise router_not_found(ident)
    return row


def _visible(caller: Caller) -> ColumnElement[bool]:
    return true() if caller.admin else r.c.project == caller.project
