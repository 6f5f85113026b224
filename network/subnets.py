"""Subnets: a CIDR of a network, its gateway and the pools IPAM hands out;
made by the network's owner, seen by whoever sees the network, deleted only
when none of its addresses is a port's."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    RowMapping,
    Select,
    delete,
    func,
    insert,
    or_,
    select,
    true,
)
from sqlalchemy import update as update_stmt

from celldb.store import transaction
from network import tables
from network.addresses import (
    IpNetwork,
    check_pools,
    default_gateway,
    default_pools,
    parse_cidr,
    parse_ip,
    span,
)
from network.errors import Conflict, InvalidInput, SubnetInUse, invalid, not_found
from network.ipam import IpamDriver
from network.listing import filtered, paged
from network.policy import project_for, refused
from network.resources import (
    AllocationPool,
    Caller,
    Changes,
    HostRoute,
    ListQuery,
    Subnet,
    SubnetSpec,
)
from network.rows import locked, marker_row, pools_json, routes_json, subnet_of, writing

s = tables.subnets
n = tables.networks
COLUMNS = {c.name: c for c in s.columns
           if c.name not in ("allocation_pools", "dns_nameservers", "host_routes")}
SORTABLE = frozenset(COLUMNS) - {"gateway_ip"}  # nullable: no keyset past a NULL
UPDATABLE = frozenset({"name", "description", "enable_dhcp", "dns_nameservers", "host_routes",
                       "gateway_ip", "allocation_pools"})
MAX_NAMESERVERS, MAX_ROUTES = 5, 20  # Neutron's max_dns_nameservers, max_subnet_host_routes


class SubnetStore:
    """The subnets table; their pools are IPAM's. Every method may raise
    DatabaseUnavailable."""

    def __init__(self, engine: Engine, ipam: IpamDriver) -> None:
        self.engine, self.ipam = engine, ipam

    def create(self, caller: Caller, spec: SubnetSpec) -> Subnet:
        """A new subnet, its pools drained into IPAM; InvalidInput for a CIDR,
        gateway or pool that cannot be, or one overlapping another subnet of
        the network; NotFound/NotAuthorized for a network not the caller's."""
        return self.create_many(caller, [spec])[0]

    def create_many(self, caller: Caller, specs: Sequence[SubnetSpec]) -> list[Subnet]:
        """The subnets `specs` ask for (Neutron's bulk create), all made in one
        transaction or, when one is refused as `create` says, none."""
        with writing(self.engine, "subnets") as conn:
            return [self._create(conn, caller, spec) for spec in specs]

    def _create(self, conn: Connection, caller: Caller, spec: SubnetSpec) -> Subnet:
        project = project_for(caller, spec.project, "create_subnet")
        subnet = _subnet(spec, project)
        network = locked(conn, n, spec.network_id)  # subnets of one network: in turn
        if network is None or not caller.sees(network["project"], network["shared"]):
            raise not_found("Network", spec.network_id)
        if not caller.owns(network["project"]):
            raise refused("rule:create_subnet")
        _check_overlap(conn, subnet)
        conn.execute(insert(s).values(_row(subnet)))
        self.ipam.add_pools(conn, subnet)
        return subnet

    def show(self, caller: Caller, ident: str) -> Subnet:
        with transaction(self.engine, "subnets") as conn:
            row = conn.execute(_select(caller).where(s.c.id == ident)).first()
        if row is None:
            raise not_found("Subnet", ident)
        return subnet_of(row._mapping)

    def list(self, caller: Caller, ask: ListQuery) -> list[Subnet]:
        query = filtered(_select(caller), COLUMNS, ask.filters)
        with transaction(self.engine, "subnets") as conn:
            marker = marker_row(conn, s, ask.marker)
            if ask.marker and marker is None:
                raise not_found("Subnet", ask.marker)
            rows = conn.execute(paged(query, COLUMNS, SORTABLE, ask, marker))
            found = [subnet_of(r._mapping) for r in rows]
        return found[::-1] if ask.page_reverse else found

    def free_pools(self, caller: Caller, ident: str) -> Subnet:
        """The subnet with `allocation_pools` what IPAM has free of them now."""
        subnet = self.show(caller, ident)
        with transaction(self.engine, "subnets") as conn:
            pools = self.ipam.pools(conn, subnet)
        return dataclasses.replace(subnet, allocation_pools=pools)

    def update(self, caller: Caller, ident: str, changes: Changes) -> Subnet:
        """Change name, description, enable_dhcp, dns_nameservers (a tuple of
        addresses), host_routes (a tuple of HostRoute), gateway_ip (None: no
        gateway) or allocation_pools (a tuple of AllocationPool: IPAM's free
        addresses become the new pools' less those allocated). InvalidInput
        as for a create; Conflict (GatewayIpInUse) for a port's address as gateway."""
        values = dict(changes.values)
        if set(values) - UPDATABLE:
            raise invalid(f"Cannot update {', '.join(sorted(set(values) - UPDATABLE))}")
        with writing(self.engine, "subnets") as conn:
            row = self._owned(conn, caller, ident, "update_subnet")
            subnet = _changed(subnet_of(row), values)
            if subnet.gateway_ip and "gateway_ip" in values:
                _check_gateway_free(conn, subnet)
            if "allocation_pools" in values:
                self.ipam.set_pools(conn, subnet)
            conn.execute(update_stmt(s).where(s.c.id == ident).values(_row(subnet)))
        return self.show(caller, ident)

    def delete(self, caller: Caller, ident: str) -> None:
        """Delete the subnet; SubnetInUse while a port holds one of its addresses."""
        with writing(self.engine, "subnets") as conn:
            self._owned(conn, caller, ident, "delete_subnet")
            ips = tables.port_ips
            if conn.execute(select(func.count()).where(ips.c.subnet_id == ident)).scalar():
                raise SubnetInUse(f"Unable to complete operation on subnet {ident}: One or"
                                  " more ports have an IP allocation from this subnet.")
            self.ipam.remove(conn, ident)
            conn.execute(delete(s).where(s.c.id == ident))

    def _owned(self, conn: Connection, caller: Caller, ident: str, action: str) -> RowMapping:
        """Lock the subnet (ports allocating from it wait) and answer its row;
        NotFound unless the caller sees it, NotAuthorized unless it owns it."""
        row = locked(conn, s, ident)
        if row is None or conn.execute(_select(caller).where(s.c.id == ident)).first() is None:
            raise not_found("Subnet", ident)
        if not caller.owns(row["project"]):
            raise refused(f"rule:{action}")
        return row


def _subnet(spec: SubnetSpec, project: str) -> Subnet:
    """The subnet `spec` asks for, its gateway and pools filled in and checked."""
    net = parse_cidr(spec.cidr, spec.ip_version)
    gateway = default_gateway(net) if spec.gateway_ip is None else (spec.gateway_ip or None)
    if gateway is not None and parse_ip(gateway) not in net:
        raise invalid(f"Gateway IP {gateway} is not in subnet {net}")
    pools = (default_pools(net, gateway) if spec.allocation_pools is None
             else tuple(sorted(spec.allocation_pools, key=span)))
    check_pools(net, pools, gateway)
    now = time.time()
    return Subnet(str(uuid.uuid4()), spec.network_id, spec.name, project, str(net),
                  spec.ip_version, gateway, pools, _nameservers(spec.dns_nameservers),
                  spec.enable_dhcp, now, now, _routes(spec.host_routes, net.version),
                  spec.description)


def _changed(subnet: Subnet, values: dict[str, object]) -> Subnet:
    """`subnet` with the update's `values`, checked as a create's."""
    net = parse_cidr(subnet.cidr, subnet.ip_version)
    fields: dict[str, Any] = {k: v for k, v in values.items()
                              if k in ("name", "description", "enable_dhcp")}
    if "dns_nameservers" in values:
        fields["dns_nameservers"] = _nameservers(values["dns_nameservers"])
    if "host_routes" in values:
        fields["host_routes"] = _routes(values["host_routes"], net.version)
    if "gateway_ip" in values:
        fields["gateway_ip"] = _gateway(values["gateway_ip"], net)
    if "allocation_pools" in values:
        fields["allocation_pools"] = _pools(values["allocation_pools"])
    changed = dataclasses.replace(subnet, **fields, updated_at=time.time())
    if {"gateway_ip", "allocation_pools"} & set(values):
        check_pools(net, changed.allocation_pools, changed.gateway_ip)
    return changed


def _gateway(given: object, net: IpNetwork) -> str | None:
    if given is None or given == "":
        return None
    gateway = parse_ip(str(given))
    if gateway not in net:
        raise invalid(f"Gateway IP {given} is not in subnet {net}")
    return str(gateway)


def _pools(given: object) -> tuple[AllocationPool, ...]:
    if not isinstance(given, (tuple, list)) or not all(
            isinstance(p, AllocationPool) for p in given):
        raise invalid("allocation_pools must be a list of pools")
    return tuple(sorted(given, key=span))


def _nameservers(given: object) -> tuple[str, ...]:
    if not isinstance(given, (tuple, list)):
        raise invalid("dns_nameservers must be a list of addresses")
    found = tuple(str(parse_ip(str(address))) for address in given)
    if len(set(found)) != len(found):
        raise invalid(f"Duplicate nameserver in {', '.join(found)}")
    if len(found) > MAX_NAMESERVERS:
        raise InvalidInput(f"The number of DNS nameservers exceeds the limit"
                           f" {MAX_NAMESERVERS}.", "DNSNameServersExhausted")
    return found


def _routes(given: object, version: int) -> tuple[HostRoute, ...]:
    """Host routes as Neutron takes them: a destination CIDR of the subnet's
    version (no host bits), a nexthop address of it, no route twice."""
    if not isinstance(given, (tuple, list)) or not all(isinstance(r, HostRoute) for r in given):
        raise invalid("host_routes must be a list of routes")
    routes = tuple(HostRoute(str(parse_cidr(r.destination, version)), str(parse_ip(r.nexthop)))
                   for r in given)
    for route in routes:
        if parse_ip(route.nexthop).version != version:
            raise invalid(f"Invalid route: nexthop {route.nexthop} is not an IPv{version}"
                          " address")
    if len(set(routes)) != len(routes):
        raise invalid("Duplicate hostroute in host_routes")
    if len(routes) > MAX_ROUTES:
        raise InvalidInput(f"The number of host routes exceeds the limit {MAX_ROUTES}.",
                           "HostRoutesExhausted")
    return routes


def _check_gateway_free(conn: Connection, subnet: Subnet) -> None:
    """Conflict when a port holds the address asked for as the gateway."""
    ips = tables.port_ips
    holder = conn.execute(select(ips.c.port_id).where(
        ips.c.subnet_id == subnet.id, ips.c.ip_address == subnet.gateway_ip)).scalar()
    if holder is not None:
        raise Conflict(f"Current gateway ip {subnet.gateway_ip} already in use by port"
                       f" {holder}. Unable to update.", "GatewayIpInUse")


def _check_overlap(conn: Connection, subnet: Subnet) -> None:
    net = parse_cidr(subnet.cidr, subnet.ip_version)
    others = conn.execute(select(s.c.cidr).where(s.c.network_id == subnet.network_id)).scalars()
    for other in others:
        theirs = parse_cidr(other, 6 if ":" in other else 4)
        if theirs.version == net.version and theirs.overlaps(net):
            raise invalid(f"Requested subnet with cidr: {net} for network:"
                          f" {subnet.network_id} overlaps with another subnet")


def _row(subnet: Subnet) -> dict[str, object]:
    row = _fields(subnet)
    row.update(allocation_pools=pools_json(subnet.allocation_pools),
               dns_nameservers=json.dumps(list(subnet.dns_nameservers)),
               host_routes=routes_json(subnet.host_routes))
    return row


def _fields(subnet: Subnet) -> dict[str, object]:
    return {name: getattr(subnet, name) for name in Subnet.__slots__}


def _select(caller: Caller) -> Select[Any]:
    """Subnets the caller sees: of its project, or on a network it sees."""
    visible: ColumnElement[bool] = true() if caller.admin else or_(
        s.c.project == caller.project, n.c.project == caller.project, n.c.shared.is_(True))
    return select(s).join(n, n.c.id == s.c.network_id).where(visible)
