"""The network room's tables in their current shape (network.schema's steps
create them; nothing creates them from here). They live beside the API's in
the API database, with a version table of their own.

Addresses in the IPAM tables are 32 hex digits (`network.addresses.key`), the
same width for IPv4 and IPv6, so that comparing the strings compares the
addresses on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

schema_version = Table(
    "cellrouter_network_schema", metadata,
    Column("version", Integer, nullable=False),
)

# A flat network's segmentation_id is 0: the unique segment makes one flat
# network per physical network and one network per VLAN of each.
networks = Table(
    "networks", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("project", String(255), nullable=False, index=True),
    Column("shared", Boolean, nullable=False),
    Column("admin_state_up", Boolean, nullable=False),
    Column("type", String(16), nullable=False),
    Column("physical_network", String(64), nullable=False),
    Column("segmentation_id", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("description", String(255), nullable=False, server_default=""),
    UniqueConstraint("physical_network", "segmentation_id", name="uq_networks_segment"),
)

# allocation_pools ([[start, end], ...]), dns_nameservers and host_routes
# ([[destination, nexthop], ...]) as JSON text.
subnets = Table(
    "subnets", metadata,
    Column("id", String(36), primary_key=True),
    Column("network_id", String(36), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("project", String(255), nullable=False),
    Column("cidr", String(64), nullable=False),
    Column("ip_version", Integer, nullable=False),
    Column("gateway_ip", String(64), nullable=True),
    Column("allocation_pools", Text, nullable=False),
    Column("dns_nameservers", Text, nullable=False),
    Column("enable_dhcp", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("host_routes", Text, nullable=False, server_default="[]"),
    Column("description", String(255), nullable=False, server_default=""),
)

ports = Table(
    "ports", metadata,
    Column("id", String(36), primary_key=True),
    Column("network_id", String(36), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("project", String(255), nullable=False, index=True),
    Column("mac_address", String(17), nullable=False),
    Column("device_id", String(255), nullable=False),
    Column("device_owner", String(255), nullable=False),
    Column("binding_host", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("admin_state_up", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("description", String(255), nullable=False, server_default=""),
    UniqueConstraint("network_id", "mac_address", name="uq_ports_network_mac"),
)

# A port's fixed IPs (the service's record; IPAM keeps its own below).
port_ips = Table(
    "port_ips", metadata,
    Column("subnet_id", String(36), primary_key=True),
    Column("ip_address", String(64), primary_key=True),
    Column("port_id", String(36), nullable=False, index=True),
)

# IPAM: the addresses of a subnet's pools not handed out, as ranges [first,
# last] cut into chunks when the subnet is made (network.ipam_table says why).
ipam_free = Table(
    "ipam_free", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subnet_id", String(36), nullable=False),
    Column("first", String(32), nullable=False),
    Column("last", String(32), nullable=False),
    Index("ix_ipam_free_subnet_first", "subnet_id", "first"),
)

# IPAM: the addresses handed out; the primary key is what makes one address
# one holder's, whichever way (pool or a request for that address) it went.
# Which device (a server) each bound port serves, and whether it was made for
# it (then it goes with the device) or by a user (then it is only unbound).
port_bindings = Table(
    "port_bindings",
    metadata,
    Column("port_id", String(36), primary_key=True),
    Column("device_id", String(255), nullable=False, index=True),
    Column("made_for_device", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
)

ipam_allocations = Table(
    "ipam_allocations", metadata,
    Column("subnet_id", String(36), primary_key=True),
    Column("address", String(32), primary_key=True),
)

# Security groups (network.security_groups). Kept and served; no host
# enforces them yet.
security_groups = Table(
    "security_groups", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("description", String(255), nullable=False),
    Column("project", String(255), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Each project's one default group: the primary key is what keeps two API
# processes from making two at once.
default_security_groups = Table(
    "default_security_groups", metadata,
    Column("project", String(255), primary_key=True),
    Column("security_group_id", String(36), nullable=False, unique=True),
)

# A rule's protocol is Neutron's name or a number as text; NULL is any (and
# for the ports and remotes, none given).
security_group_rules = Table(
    "security_group_rules", metadata,
    Column("id", String(36), primary_key=True),
    Column("security_group_id", String(36), nullable=False, index=True),
    Column("project", String(255), nullable=False, index=True),
    Column("direction", String(16), nullable=False),
    Column("ethertype", String(8), nullable=False),
    Column("protocol", String(40), nullable=True),
    Column("port_range_min", Integer, nullable=True),
    Column("port_range_max", Integer, nullable=True),
    Column("remote_ip_prefix", String(64), nullable=True),
    Column("remote_group_id", String(36), nullable=True, index=True),
    Column("description", String(255), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Which groups each port has.
port_security_groups = Table(
    "port_security_groups", metadata,
    Column("port_id", String(36), primary_key=True),
    Column("security_group_id", String(36), primary_key=True, index=True),
)

# Routers (network.routers): records only, no agent forwards between their
# subnets and none has an external gateway.
routers = Table(
    "routers", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("project", String(255), nullable=False, index=True),
    Column("admin_state_up", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("description", String(255), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Which ports are which router's interfaces (as Neutron's routerports): the
# port's device_id names the router too, but this row is what keeps the
# router from being deleted and the port from being deleted by the port API.
router_ports = Table(
    "router_ports", metadata,
    Column("port_id", String(36), primary_key=True),
    Column("router_id", String(36), nullable=False, index=True),
)
