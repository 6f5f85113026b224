"""Ports bound to devices: compute's side of a port, in the network service.

A server's boot binds the ports it asks for: one a user made (`{"port": ID}`)
is bound as it is; one made for the server (`{"uuid": NETWORK}`) is made and
bound in one step, marked `made_for_device`. A port serves one device at a
time: binding one that serves another is PortInUse (409). When the server
goes (`release`), the ports made for it are deleted, their addresses given
back to IPAM, and the others are unbound (device, owner and host cleared,
DOWN). A binding and its port change in one transaction; a release deletes
each made port in a transaction of its own, so one cut short by a crash is
finished by the next release of the same device (releasing is idempotent).

The rows live in `port_bindings` (network.tables) beside the ports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from sqlalchemy import Connection, Engine, delete, insert, select, update

from celldb.store import transaction
from network import tables
from network.errors import NotFound, PortInUse, not_found
from network.ports import PortStore
from network.resources import Caller, Port, PortSpec, PortStatus
from network.rows import locked, writing

b, p = tables.port_bindings, tables.ports
COMPUTE = "compute:nova"  # the device owner Nova writes; Tempest and clients expect it
ADMIN = Caller("", admin=True)


@dataclass(frozen=True, slots=True)
class Bound:
    port: Port
    made_for_device: bool


class BindingStore:
    """Every method may raise DatabaseUnavailable (celldb)."""

    def __init__(self, engine: Engine, ports: PortStore) -> None:
        self.engine, self.ports = engine, ports

    def bind(self, caller: Caller, port_id: str, device_id: str) -> Port:
        """The user's port `port_id`, bound to `device_id` (again: no change).
        NotFound when the caller does not see it; PortInUse when it serves another."""
        with writing(self.engine, "port bindings") as conn:
            row = locked(conn, p, port_id)
            if row is None or not caller.sees(row["project"]):
                raise not_found("Port", port_id)
            if row["device_id"] and row["device_id"] != device_id:
                raise PortInUse(f"Port {port_id} is still in use.")
            self._bind(conn, port_id, device_id, made=False)
        return self.ports.show(ADMIN, port_id)

    def make(self, caller: Caller, spec: PortSpec, device_id: str, occurrence: int = 0) -> Port:
        """A port made for `device_id` on `spec.network_id`, bound to it: its
        `occurrence`-th on that network (a device may have several). The one
        made before for the same device, network and occurrence when there is
        one: a boot sent again makes no second port."""
        earlier = [b.port for b in self.of_device(device_id)
                   if b.made_for_device and b.port.network_id == spec.network_id]
        if occurrence < len(earlier):
            return earlier[occurrence]
        made = self.ports.create(caller, replace(spec, device_id=device_id,
                                                 device_owner=COMPUTE))
        with writing(self.engine, "port bindings") as conn:
            self._bind(conn, made.id, device_id, made=True)
        return self.ports.show(ADMIN, made.id)

    def at_host(self, port_id: str, host: str) -> None:
        """Where the device landed: the port's binding host."""
        with transaction(self.engine, "port bindings") as conn:
            conn.execute(update(p).where(p.c.id == port_id)
                         .values(binding_host=host, updated_at=time.time()))

    def set_status(self, port_id: str, status: PortStatus) -> None:
        with transaction(self.engine, "port bindings") as conn:
            conn.execute(update(p).where(p.c.id == port_id)
                         .values(status=status.value, updated_at=time.time()))

    def waiting(self) -> list[str]:
        """The bound ports that have a host and are not ACTIVE yet (wired by
        no agent so far), oldest binding first."""
        with transaction(self.engine, "port bindings") as conn:
            rows = conn.execute(
                select(p.c.id).join(b, b.c.port_id == p.c.id)
                .where(p.c.binding_host != "", p.c.status != PortStatus.ACTIVE.value)
                .order_by(b.c.created_at)).all()
        return [port_id for (port_id,) in rows]

    def of_device(self, device_id: str) -> list[Bound]:
        with transaction(self.engine, "port bindings") as conn:
            rows = conn.execute(select(b.c.port_id, b.c.made_for_device)
                                .where(b.c.device_id == device_id)
                                .order_by(b.c.created_at, b.c.port_id)).all()
        found = []
        for port_id, made in rows:
            try:
                found.append(Bound(self.ports.show(ADMIN, port_id), bool(made)))
            except NotFound:
                continue  # deleted by a release cut short: its row goes with the next one
        return found

    def release(self, device_id: str) -> list[Bound]:
        """Let `device_id`'s ports go: delete the ones made for it, unbind the
        rest. The ports as they were bound."""
        bound = self.of_device(device_id)
        for each in bound:
            if each.made_for_device:
                self.ports.delete(ADMIN, each.port.id)
        with writing(self.engine, "port bindings") as conn:
            kept = [each.port.id for each in bound if not each.made_for_device]
            if kept:
                conn.execute(update(p).where(p.c.id.in_(kept)).values(
                    device_id="", device_owner="", binding_host="",
                    status=PortStatus.DOWN.value, updated_at=time.time()))
            conn.execute(delete(b).where(b.c.device_id == device_id))
        return bound

    def _bind(self, conn: Connection, port_id: str, device_id: str, made: bool) -> None:
        conn.execute(update(p).where(p.c.id == port_id).values(
            device_id=device_id, device_owner=COMPUTE, updated_at=time.time()))
        conn.execute(delete(b).where(b.c.port_id == port_id))
        conn.execute(insert(b).values(port_id=port_id, device_id=device_id,
                                      made_for_device=made, created_at=time.time()))
