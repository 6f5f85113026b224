"""The network room's ordered schema steps (celldb's machinery, with a version
table and upgrade lock of their own), on whatever database it is given: the
API's by default. Append, never edit: the service must start on any database
an earlier release wrote.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from celldb.engine import open_database
from celldb.schema import SchemaSteps
from network import frozen, tables


def _v1(conn: Connection) -> None:
    """Networks, subnets, ports and their IPs; IPAM's free ranges and
    allocations. The current shapes are this step's but for networks,
    subnets and ports (step 4 changed them: network.frozen keeps them as
    they were); a later step that changes a table freezes this step's copy first."""
    frozen.v1.create_all(conn)
    first = [tables.port_ips, tables.ipam_free, tables.ipam_allocations]
    tables.metadata.create_all(conn, tables=first)


def _v2(conn: Connection) -> None:
    """Ports bound to devices by compute (network.bindings)."""
    tables.metadata.create_all(conn, tables=[tables.port_bindings])


def _v3(conn: Connection) -> None:
    """Security groups, their rules, each project's default group, and the
    groups of each port (network.security_groups). Ports made before this
    step have no group."""
    tables.metadata.create_all(conn, tables=[
        tables.security_groups, tables.default_security_groups,
        tables.security_group_rules, tables.port_security_groups])


def _v4(conn: Connection) -> None:
    """Neutron's standard attribute `description` on networks, subnets and
    ports; a subnet's host routes (JSON text, [[destination, nexthop], ...])."""
    for table in ("networks", "subnets", "ports"):
        conn.exec_driver_sql(
            f"ALTER TABLE {table} ADD COLUMN description VARCHAR(255) NOT NULL DEFAULT ''")
    conn.exec_driver_sql("ALTER TABLE subnets ADD COLUMN host_routes TEXT NOT NULL DEFAULT '[]'")


def _v5(conn: Connection) -> None:
    """Routers, kept as records, and which ports are their interfaces
    (network.routers)."""
    tables.metadata.create_all(conn, tables=[tables.routers, tables.router_ports])


# Any constant, unlike the cells' and the API's: upgrades of the three
# sequences never wait for one another, even on one database.
_UPGRADE_LOCK = 0x6E657477
NETWORK = SchemaSteps(tables.schema_version, [_v1, _v2, _v3, _v4, _v5], _UPGRADE_LOCK)


def open_network_database(url: str) -> Engine:
    """The network tables at `url`, created or upgraded; DatabaseUnavailable
    when they cannot be."""
    return open_database(url, NETWORK)
