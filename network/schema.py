"""The network room's ordered schema steps (celldb's machinery, with a version
table and upgrade lock of their own), on whatever database it is given: the
API's by default. Append, never edit: the service must start on any database
an earlier release wrote.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from celldb.engine import open_database
from celldb.schema import SchemaSteps
from network import tables


def _v1(conn: Connection) -> None:
    """Networks, subnets, ports and their IPs; IPAM's free ranges and
    allocations. The current shapes are this step's; a later step that
    changes a table freezes this step's copy first."""
    first = [tables.networks, tables.subnets, tables.ports, tables.port_ips,
             tables.ipam_free, tables.ipam_allocations]
    tables.metadata.create_all(conn, tables=first)


def _v2(conn: Connection) -> None:
    """Ports bound to devices by compute (network.bindings)."""
    tables.metadata.create_all(conn, tables=[tables.port_bindings])


# Any constant, unlike the cells' and the API's: upgrades of the three
# sequences never wait for one another, even on one database.
_UPGRADE_LOCK = 0x6E657477
NETWORK = SchemaSteps(tables.schema_version, [_v1, _v2], _UPGRADE_LOCK)


def open_network_database(url: str) -> Engine:
    """The network tables at `url`, created or upgraded; DatabaseUnavailable
    when they cannot be."""
    return open_database(url, NETWORK)
