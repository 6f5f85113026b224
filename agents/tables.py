"""The agents' tables in a leaf's database, in their current shape, declared
on celldb's metadata. The steps in `celldb.schema` build them (v5, v6); a
change here needs a new step there.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table, Text

from celldb.schema import metadata

# v5: the agents that reported to this (leaf) cell (agents.registry).
agents = Table(
    "agents",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("kind", String(63), nullable=False),
    Column("capabilities", Text, nullable=False),  # JSON list
    Column("availability_zone", String(255), nullable=False),
    Column("admin_up", Boolean, nullable=False),
    Column("load", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),  # an operator's switch
    Column("first_heard", Float, nullable=False),
)

# v6: the service objects placed on those agents (agents.objects).
service_objects = Table(
    "service_objects",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("request_id", String(255), unique=True, nullable=False),
    Column("name", String(255), nullable=False),
    Column("kind", String(63), nullable=False),
    Column("needs", Text, nullable=False),  # JSON list
    Column("hints", Text, nullable=False),  # JSON object
    Column("project", String(255), nullable=False),
    Column("agent", String(255), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("fault", Text, nullable=False),
    Column("revision", Integer, nullable=False),
)

# v6: each binding change, for agents' watches: at a revision, an object was
# bound to an agent, or let go by it (moved away, or deleted).
binding_log = Table(
    "binding_log",
    metadata,
    Column("revision", Integer, nullable=False),
    Column("uuid", String(36), nullable=False),
    Column("agent", String(255), nullable=False),
    Column("bound", Boolean, nullable=False),
    Index("ix_binding_log_agent_revision", "agent", "revision"),
)

