"""What every store of the room shares: the write transaction, row locks, and
rows read back as the contract's values."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, Table, select

from celldb.errors import translated
from network import tables
from network.resources import (
    AllocationPool,
    Direction,
    EtherType,
    FixedIp,
    HostRoute,
    Network,
    NetworkType,
    Port,
    PortStatus,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)
from network.segments import FLAT_ID


@contextmanager
def writing(engine: Engine, what: str) -> Iterator[Connection]:
    """A transaction that writes: on SQLite it takes the write lock at BEGIN
    (IMMEDIATE), so writers take turns instead of failing to upgrade a read
    lock; on PostgreSQL the statements lock the rows they need. Database
    failures leave as DatabaseUnavailable("WHAT unavailable: ...")."""
    with translated(what), engine.connect() as conn:
        conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


def locked(conn: Connection, table: Table, ident: str, *, share: bool = False
           ) -> RowMapping | None:
    """The row of `table` with id `ident`, locked until the transaction ends
    (FOR SHARE with `share`: writers of the row wait, sharers do not)."""
    query = select(table).where(table.c.id == ident).with_for_update(read=share)
    row = conn.execute(query).first()
    return row._mapping if row is not None else None


def network_of(row: Mapping[Any, Any], subnets: Sequence[str] = ()) -> Network:
    segment = int(row["segmentation_id"])
    return Network(
        id=row["id"], name=row["name"], project=row["project"], shared=bool(row["shared"]),
        admin_state_up=bool(row["admin_state_up"]), type=NetworkType(row["type"]),
        segmentation_id=None if row["type"] == NetworkType.FLAT and segment == FLAT_ID
        else segment,
        physical_network=row["physical_network"], status=row["status"],
        created_at=float(row["created_at"]), updated_at=float(row["updated_at"]),
        subnets=tuple(subnets), description=row["description"])


def subnet_of(row: Mapping[Any, Any]) -> Subnet:
    pools = tuple(AllocationPool(a, b) for a, b in json.loads(row["allocation_pools"]))
    routes = tuple(HostRoute(a, b) for a, b in json.loads(row["host_routes"]))
    return Subnet(
        id=row["id"], network_id=row["network_id"], name=row["name"], project=row["project"],
        cidr=row["cidr"], ip_version=int(row["ip_version"]), gateway_ip=row["gateway_ip"],
        allocation_pools=pools, dns_nameservers=tuple(json.loads(row["dns_nameservers"])),
        enable_dhcp=bool(row["enable_dhcp"]), created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]), host_routes=routes,
        description=row["description"])


def port_of(row: Mapping[Any, Any], ips: Sequence[FixedIp] = (),
            groups: Sequence[str] = ()) -> Port:
    return Port(
        id=row["id"], network_id=row["network_id"], name=row["name"], project=row["project"],
        mac_address=row["mac_address"], fixed_ips=tuple(ips), device_id=row["device_id"],
        device_owner=row["device_owner"], binding_host=row["binding_host"],
        status=PortStatus(row["status"]), admin_state_up=bool(row["admin_state_up"]),
        created_at=float(row["created_at"]), updated_at=float(row["updated_at"]),
        security_groups=tuple(groups), description=row["description"])


def rule_of(row: Mapping[Any, Any]) -> SecurityGroupRule:
    def number(name: str) -> int | None:
        return None if row[name] is None else int(row[name])
    return SecurityGroupRule(
        id=row["id"], security_group_id=row["security_group_id"], project=row["project"],
        direction=Direction(row["direction"]), ethertype=EtherType(row["ethertype"]),
        protocol=row["protocol"], port_range_min=number("port_range_min"),
        port_range_max=number("port_range_max"), remote_ip_prefix=row["remote_ip_prefix"],
        remote_group_id=row["remote_group_id"], description=row["description"],
        created_at=float(row["created_at"]), updated_at=float(row["updated_at"]))


def group_of(row: Mapping[Any, Any], rules: Sequence[SecurityGroupRule] = ()) -> SecurityGroup:
    return SecurityGroup(
        id=row["id"], name=row["name"], description=row["description"],
        project=row["project"], created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]), rules=tuple(rules))


def group_rules(conn: Connection, group_ids: Sequence[str]) -> dict[str, list[SecurityGroupRule]]:
    """The rules of each group, oldest first."""
    r = tables.security_group_rules
    found: dict[str, list[SecurityGroupRule]] = {g: [] for g in group_ids}
    rows = conn.execute(select(r).where(r.c.security_group_id.in_(group_ids))
                        .order_by(r.c.created_at, r.c.id))
    for row in rows:
        found[row.security_group_id].append(rule_of(row._mapping))
    return found


def port_groups(conn: Connection, port_ids: Sequence[str]) -> dict[str, list[str]]:
    """The security group ids of each port."""
    g = tables.port_security_groups
    found: dict[str, list[str]] = {n: [] for n in port_ids}
    rows = conn.execute(select(g).where(g.c.port_id.in_(port_ids))
                        .order_by(g.c.port_id, g.c.security_group_id))
    for row in rows:
        found[row.port_id].append(row.security_group_id)
    return found


def pools_json(pools: Sequence[AllocationPool]) -> str:
    return json.dumps([[p.start, p.end] for p in pools])


def routes_json(routes: Sequence[HostRoute]) -> str:
    return json.dumps([[r.destination, r.nexthop] for r in routes])


def subnet_ids(conn: Connection, network_ids: Sequence[str]) -> dict[str, list[str]]:
    """The ids of each network's subnets, oldest first."""
    s = tables.subnets
    found: dict[str, list[str]] = {n: [] for n in network_ids}
    rows = conn.execute(select(s.c.id, s.c.network_id).where(s.c.network_id.in_(network_ids))
                        .order_by(s.c.created_at, s.c.id))
    for row in rows:
        found[row.network_id].append(row.id)
    return found


def port_ips(conn: Connection, port_ids: Sequence[str]) -> dict[str, list[FixedIp]]:
    """The fixed IPs of each port."""
    p = tables.port_ips
    found: dict[str, list[FixedIp]] = {n: [] for n in port_ids}
    rows = conn.execute(select(p).where(p.c.port_id.in_(port_ids))
                        .order_by(p.c.subnet_id, p.c.ip_address))
    for row in rows:
        found[row.port_id].append(FixedIp(row.subnet_id, row.ip_address))
    return found


def marker_row(conn: Connection, table: Table, marker: str) -> dict[str, Any] | None:
    """The marker's row, for keyset paging; None for no marker."""
    if not marker:
        return None
    row = conn.execute(select(table).where(table.c.id == marker)).first()
    return dict(row._mapping) if row is not None else None
