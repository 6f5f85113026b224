"""Ports: a MAC unique on their network and fixed IPs IPAM hands out, made
in one transaction with the addresses they hold and their security groups
(network.port_groups); seen by their project."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    RowMapping,
    delete,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from celldb.store import transaction
from network import fixed_ips, tables
from network.errors import IpAddressGenerationFailure, MacAddressInUse, invalid, not_found
from network.ipam import IpamDriver
from network.listing import filtered, paged
from network.macs import generate, normalise
from network.policy import admin_only, project_for, refused
from network.port_groups import assign, forget
from network.resources import (
    Caller,
    Changes,
    FixedIp,
    IpRequest,
    ListQuery,
    Port,
    PortSpec,
    PortStatus,
    Subnet,
)
from network.router_ports import refuse_interface
from network.rows import locked, marker_row, port_groups, port_ips, port_of, subnet_of, writing
from network.settings import NetworkSettings

p = tables.ports
COLUMNS = {c.name: c for c in p.columns}
SORTABLE = frozenset(COLUMNS)
UPDATABLE = frozenset({"name", "admin_state_up", "device_id", "device_owner", "binding_host",
                       "status", "security_groups", "description", "fixed_ips"})
ADMINS_ONLY = frozenset({"binding_host", "status"})
_MAC_TRIES = 16  # a generated MAC taken on the network already is drawn again


class PortStore:
    """The ports table and their fixed IPs. Every method may raise DatabaseUnavailable."""

    def __init__(self, engine: Engine, settings: NetworkSettings, ipam: IpamDriver) -> None:
        self.engine, self.settings, self.ipam = engine, settings, ipam

    def create(self, caller: Caller, spec: PortSpec) -> Port:
        """A new port (DOWN) with its MAC and fixed IPs, all in one transaction.
        NotFound for a network the caller does not see; IpAddressAlreadyAllocated,
        IpAddressGenerationFailure, MacAddressInUse; InvalidInput for an IP not
        of the network's subnets; NotFound for a security group not of the
        port's project. Without security groups asked for, the port has its
        project's default group (made now if the project has none)."""
        return self.create_many(caller, [spec])[0]

    def create_many(self, caller: Caller, specs: Sequence[PortSpec]) -> list[Port]:
        """The ports `specs` ask for (Neutron's bulk create), all made in one
        transaction or, when one is refused as `create` says, none."""
        with writing(self.engine, "ports") as conn:
            return [self._create(conn, caller, spec) for spec in specs]

    def create_in(self, conn: Connection, caller: Caller, spec: PortSpec) -> Port:
        """`create` in the caller's transaction (a router's interface is made
        with its router's row locked)."""
        return self._create(conn, caller, spec)

    def _create(self, conn: Connection, caller: Caller, spec: PortSpec) -> Port:
        project = project_for(caller, spec.project, "create_port")
        admin_only(caller, "create_port:binding:host_id", bool(spec.binding_host))
        mac = normalise(spec.mac_address) if spec.mac_address is not None else None
        network = locked(conn, tables.networks, spec.network_id, share=True)
        if network is None or not caller.sees(network["project"], network["shared"]):
            raise not_found("Network", spec.network_id)
        if mac is not None and not caller.owns(network["project"]):
            raise refused("rule:create_port:mac_address")
        port = self._insert(conn, spec, project, mac)
        ips = self._allocate(conn, spec, _subnets(conn, spec.network_id))
        if ips:
            conn.execute(insert(tables.port_ips), [
                {"port_id": port["id"], "subnet_id": ip.subnet_id,
                 "ip_address": ip.ip_address} for ip in ips])
        groups = assign(conn, port["id"], project, spec.security_groups)
        return port_of(port, ips, groups)

    def show(self, caller: Caller, ident: str) -> Port:
        with transaction(self.engine, "ports") as conn:
            row = conn.execute(select(p).where(p.c.id == ident, _visible(caller))).first()
            if row is None:
                raise not_found("Port", ident)
            return port_of(row._mapping, port_ips(conn, [ident])[ident],
                           port_groups(conn, [ident])[ident])

    def list(self, caller: Caller, ask: ListQuery) -> list[Port]:
        """Filters by the port's fields and by its fixed IPs (network.fixed_ips)."""
        own, by_ips = fixed_ips.split(ask.filters)
        query = filtered(select(p).where(_visible(caller)), COLUMNS, own)
        if by_ips:
            query = query.where(fixed_ips.matching(by_ips))
        with transaction(self.engine, "ports") as conn:
            marker = marker_row(conn, p, ask.marker)
            if ask.marker and marker is None:
                raise not_found("Port", ask.marker)
            rows = [r._mapping for r in conn.execute(paged(query, COLUMNS, SORTABLE, ask, marker))]
            ips = port_ips(conn, [r["id"] for r in rows])
            groups = port_groups(conn, [r["id"] for r in rows])
        found = [port_of(r, ips[r["id"]], groups[r["id"]]) for r in rows]
        return found[::-1] if ask.page_reverse else found

    def update(self, caller: Caller, ident: str, changes: Changes) -> Port:
        """Change name, description, admin_state_up, device_id, device_owner,
        security_groups or fixed_ips (a tuple of IpRequest: all of them,
        replaced, in one transaction with IPAM), or (admins) binding_host and
        status. IpAddressAlreadyAllocated, IpAddressGenerationFailure,
        InvalidInput for an address the port cannot have."""
        values = dict(changes.values)
        if set(values) - UPDATABLE:
            raise invalid(f"Cannot update {', '.join(sorted(set(values) - UPDATABLE))}")
        for name in sorted(ADMINS_ONLY & set(values)):
            admin_only(caller, f"update_port:{name}", True)
        if "status" in values:
            values["status"] = _status(values["status"])
        groups = _group_ids(values.pop("security_groups", None))
        asked_ips = values.pop("fixed_ips", None)
        with writing(self.engine, "ports") as conn:
            row = self._owned(conn, caller, ident)
            if groups is not None:
                assign(conn, ident, row["project"], groups)
            if asked_ips is not None:
                fixed_ips.replace(conn, self.ipam, ident, row["network_id"],
                                  _subnets(conn, row["network_id"]), _ip_requests(asked_ips))
            conn.execute(update(p).where(p.c.id == ident).values(**values, updated_at=time.time()))
        return self.show(caller, ident)

    def delete(self, caller: Caller, ident: str) -> None:
        """Delete the port, its addresses given back to IPAM; L3PortInUse for
        a router's interface (its router's remove_router_interface deletes it)."""
        with writing(self.engine, "ports") as conn:
            self._owned(conn, caller, ident)
            refuse_interface(conn, ident)
            self.delete_in(conn, ident)

    def delete_in(self, conn: Connection, ident: str) -> None:
        """`delete`'s work in the caller's transaction, the port's row locked
        by it and its checks made (a router's interface goes so)."""
        subnets = {s.id: s for s in _subnets(conn, _network_of(conn, ident))}
        for ip in port_ips(conn, [ident])[ident]:
            self.ipam.release(conn, subnets[ip.subnet_id], ip.ip_address)
        conn.execute(delete(tables.port_ips).where(tables.port_ips.c.port_id == ident))
        forget(conn, ident)
        conn.execute(delete(p).where(p.c.id == ident))

    def _insert(self, conn: Connection, spec: PortSpec, project: str, mac: str | None
                ) -> dict[str, Any]:
        """The port's row, inserted with `mac` or else a generated one free on the network."""
        now = time.time()
        row: dict[str, Any] = {
            "id": str(uuid.uuid4()), "network_id": spec.network_id, "name": spec.name,
            "project": project, "device_id": spec.device_id, "device_owner": spec.device_owner,
            "binding_host": spec.binding_host, "status": PortStatus.DOWN.value,
            "description": spec.description,
            "admin_state_up": spec.admin_state_up, "created_at": now, "updated_at": now}
        for _ in range(_MAC_TRIES if mac is None else 1):
            row["mac_address"] = mac or generate(self.settings.mac_base)
            try:
                with conn.begin_nested():
                    conn.execute(insert(p).values(row))
                return row
            except IntegrityError:
                continue
        raise MacAddressInUse(f"Unable to complete operation for network {spec.network_id}."
                              f" The mac address {row['mac_address']} is in use.")

    def _allocate(self, conn: Connection, spec: PortSpec, subnets: Sequence[Subnet]
                  ) -> tuple[FixedIp, ...]:
        if spec.fixed_ips is None:
            return self._any(conn, spec.network_id, subnets)
        return tuple(FixedIp(subnet.id, self.ipam.allocate(conn, subnet, asked.ip_address))
                     for asked in spec.fixed_ips
                     for subnet in [fixed_ips.subnet_for(asked, subnets, spec.network_id)])

    def _any(self, conn: Connection, network_id: str, subnets: Sequence[Subnet]
             ) -> tuple[FixedIp, ...]:
        """One address of the first subnet (IPv4 first, oldest first) with one free."""
        for subnet in sorted(subnets, key=lambda s: (s.ip_version, s.created_at)):
            try:
                return (FixedIp(subnet.id, self.ipam.allocate(conn, subnet)),)
            except IpAddressGenerationFailure:
                continue
        if subnets:
            raise IpAddressGenerationFailure(
                f"No more IP addresses available on network {network_id}.")
        return ()

    def _owned(self, conn: Connection, caller: Caller, ident: str) -> RowMapping:
        row = locked(conn, p, ident)
        if row is None or not caller.sees(row["project"]):
            raise not_found("Port", ident)
        return row


def _ip_requests(value: object) -> tuple[IpRequest, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, IpRequest) for v in value):
        raise invalid("fixed_ips must be a list of fixed IP requests")
    return tuple(value)


def _subnets(conn: Connection, network_id: str) -> list[Subnet]:
    """The network's subnets, each locked FOR SHARE: a delete of one waits."""
    s = tables.subnets
    rows = conn.execute(select(s).where(s.c.network_id == network_id)
                        .order_by(s.c.created_at, s.c.id).with_for_update(read=True))
    return [subnet_of(r._mapping) for r in rows]


def _network_of(conn: Connection, port_id: str) -> str:
    return str(conn.execute(select(p.c.network_id).where(p.c.id == port_id)).scalar_one())


def _group_ids(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise invalid("security_groups must be a list of security group ids")
    return tuple(value)


def _status(value: object) -> str:
    try:
        return PortStatus(str(value)).value
    except ValueError:
        raise invalid(f"'{value}' is not a port status ("
                      f"{', '.join(s.value for s in PortStatus)})") from None


def _visible(caller: Caller) -> ColumnElement[bool]:
    return true() if caller.admin else p.c.project == caller.project
