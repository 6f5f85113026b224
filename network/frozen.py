"""Tables as an earlier schema step made them, for that step to make them
again on a new database (network.schema). Frozen: a later change to a table
is a new step, and the table's shape before it lands here.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

v1 = MetaData()

# Step 1's networks, subnets and ports; step 4 added descriptions and host routes.
networks = Table(
    "networks", v1,
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
    UniqueConstraint("physical_network", "segmentation_id", name="uq_networks_segment"),
)

subnets = Table(
    "subnets", v1,
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
)

ports = Table(
    "ports", v1,
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
    UniqueConstraint("network_id", "mac_address", name="uq_ports_network_mac"),
)
