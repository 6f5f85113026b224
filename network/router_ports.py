"""Which ports are routers' interfaces (the `router_ports` rows), as the
port API needs to know: such a port is deleted through its router's
remove_router_interface, never directly (Neutron's L3PortInUse). Apart from
network.routers so that the ports' store can ask without importing it."""

from __future__ import annotations

from sqlalchemy import Connection, select

from network import tables
from network.errors import L3PortInUse

ROUTER_INTERFACE = "network:router_interface"  # Neutron's device_owner of an interface


def router_of(conn: Connection, port_id: str) -> str | None:
    """The id of the router whose interface the port is, or None."""
    r = tables.router_ports
    found = conn.execute(select(r.c.router_id).where(r.c.port_id == port_id)).scalar()
    return None if found is None else str(found)


def refuse_interface(conn: Connection, port_id: str) -> None:
    """L3PortInUse when the port is a router's interface."""
    if router_of(conn, port_id) is not None:
        raise L3PortInUse(f"Port {port_id} has owner {ROUTER_INTERFACE} and therefore cannot"
                          " be deleted directly via the port API.")
