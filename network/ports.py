"""Ports: a MAC unique on their network and fixed IPs IPAM hands out, made
in one transaction with the addresses they hold; seen by their project."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, delete, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from celldb.store import transaction
from network import tables
from network.addresses import hosts, parse_cidr, parse_ip
from network.errors import IpAddressGenerationFailure, MacAddressInUse, invalid, not_found
from network.ipam import IpamDriver
from network.listing import filtered, paged
from network.macs import generate, normalise
from network.policy import admin_only, project_for, refused
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
from network.rows import locked, marker_row, port_ips, port_of, subnet_of, writing
from network.settings import NetworkSettings

p = tables.ports
COLUMNS = {c.name: c for c in p.columns}
SORTABLE = frozenset(COLUMNS)
UPDATABLE = frozenset({"name", "admin_state_up", "device_id", "device_owner", "binding_host",
                       "status"})
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
        of the network's subnets."""
        project = project_for(caller, spec.project, "create_port")
        admin_only(caller, "create_port:binding:host_id", bool(spec.binding_host))
        mac = normalise(spec.mac_address) if spec.mac_address is not None else None
        with writing(self.engine, "ports") as conn:
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
        return port_of(port, ips)

    def show(self, caller: Caller, ident: str) -> Port:
        with transaction(self.engine, "ports") as conn:
            row = conn.execute(select(p).where(p.c.id == ident, _visible(caller))).first()
            if row is None:
                raise not_found("Port", ident)
            return port_of(row._mapping, port_ips(conn, [ident])[ident])

    def list(self, caller: Caller, ask: ListQuery) -> list[Port]:
        query = filtered(select(p).where(_visible(caller)), COLUMNS, ask.filters)
        with transaction(self.engine, "ports") as conn:
            marker = marker_row(conn, p, ask.marker)
            if ask.marker and marker is None:
                raise not_found("Port", ask.marker)
            rows = [r._mapping for r in conn.execute(paged(query, COLUMNS, SORTABLE, ask, marker))]
            ips = port_ips(conn, [r["id"] for r in rows])
        found = [port_of(r, ips[r["id"]]) for r in rows]
        return found[::-1] if ask.page_reverse else found

    def update(self, caller: Caller, ident: str, changes: Changes) -> Port:
        """Change name, admin_state_up, device_id, device_owner, or (admins)
        binding_host and status."""
        values = dict(changes.values)
        if set(values) - UPDATABLE:
            raise invalid(f"Cannot update {', '.join(sorted(set(values) - UPDATABLE))}")
        for name in sorted(ADMINS_ONLY & set(values)):
            admin_only(caller, f"update_port:{name}", True)
        if "status" in values:
            values["status"] = _status(values["status"])
        with writing(self.engine, "ports") as conn:
            self._owned(conn, caller, ident)
            conn.execute(update(p).where(p.c.id == ident).values(**values, updated_at=time.time()))
        return self.show(caller, ident)

    def delete(self, caller: Caller, ident: str) -> None:
        """Delete the port, its addresses given back to IPAM."""
        with writing(self.engine, "ports") as conn:
            self._owned(conn, caller, ident)
            subnets = {s.id: s for s in _subnets(conn, _network_of(conn, ident))}
            for ip in port_ips(conn, [ident])[ident]:
                self.ipam.release(conn, subnets[ip.subnet_id], ip.ip_address)
            conn.execute(delete(tables.port_ips).where(tables.port_ips.c.port_id == ident))
            conn.execute(delete(p).where(p.c.id == ident))

    def _insert(self, conn: Connection, spec: PortSpec, project: str, mac: str | None
                ) -> dict[str, Any]:
        """The port's row, inserted with `mac` or else a generated one free on the network."""
        now = time.time()
        row: dict[str, Any] = {
            "id": str(uuid.uuid4()), "network_id": spec.network_id, "name": spec.name,
            "project": project, "device_id": spec.device_id, "device_owner": spec.device_owner,
            "binding_host": spec.binding_host, "status": PortStatus.DOWN.value,
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
                     for subnet in [_subnet_for(asked, subnets, spec.network_id)])

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

    def _owned(self, conn: Connection, caller: Caller, ident: str) -> None:
        row = locked(conn, p, ident)
        if row is None or not caller.sees(row["project"]):
            raise not_found("Port", ident)


def _subnet_for(asked: IpRequest, subnets: Sequence[Subnet], network_id: str) -> Subnet:
    """The subnet of the network a fixed IP request names (by id, or by holding
    its address); InvalidInput when none does, or the address cannot be a port's."""
    for subnet in subnets:
        net = parse_cidr(subnet.cidr, subnet.ip_version)
        address = parse_ip(asked.ip_address) if asked.ip_address else None
        if asked.subnet_id and asked.subnet_id != subnet.id:
            continue
        if address is None:
            return subnet
        first, last = hosts(net)
        if address.version == net.version and first <= int(address) <= last:
            return subnet
        if asked.subnet_id:
            raise invalid(f"IP address {asked.ip_address} is not a valid IP for the"
                          " specified subnet")
    if asked.subnet_id:
        raise invalid(f"Failed to create port on network {network_id}, because fixed_ips"
                      f" included invalid subnet {asked.subnet_id}")
    raise invalid(f"IP address {asked.ip_address} is not a valid IP for any subnet on"
                  f" network {network_id}")


def _subnets(conn: Connection, network_id: str) -> list[Subnet]:
    """The network's subnets, each locked FOR SHARE: a delete of one waits."""
    s = tables.subnets
    rows = conn.execute(select(s).where(s.c.network_id == network_id)
                        .order_by(s.c.created_at, s.c.id).with_for_update(read=True))
    return [subnet_of(r._mapping) for r in rows]


def _network_of(conn: Connection, port_id: str) -> str:
    return str(conn.execute(select(p.c.network_id).where(p.c.id == port_id)).scalar_one())


def _status(value: object) -> str:
    try:
        return PortStatus(str(value)).value
    except ValueError:
        raise invalid(f"'{value}' is not a port status ("
                      f"{', '.join(s.value for s in PortStatus)})") from None


def _visible(caller: Caller) -> ColumnElement[bool]:
    return true() if caller.admin else p.c.project == caller.project
