"""Routing's tables in a cell's database, in their current shape, declared on
celldb's metadata. The steps in `celldb.schema` build them (v1, v2, v3, v7);
a change here needs a new step there.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, String, Table, Text

from celldb.schema import metadata

# uuid -> where the instance lives, as seen from this cell. (v1; v2 and v3
# added columns.)
locations = Table(
    "locations",
    metadata,
    Column("uuid", String(36), primary_key=True),
    Column("request_id", String(255), unique=True, nullable=True),
    Column("child", String(63), nullable=False, index=True),  # next hop; "" at a leaf
    Column("cell_path", Text, nullable=False),  # the leaf's full path once known
    Column("host", String(255), nullable=False),
    Column("project", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("pending", Boolean, nullable=False),  # recorded before the boot finished
    Column("updated_at", Float, nullable=False),
    # v2: enough to list an instance whose cell does not answer.
    Column("name", String(255), nullable=False, server_default=""),
    Column("created_at", Float, nullable=False, server_default="0"),
    # v3: the server group the instance was booted into (affinity filters).
    Column("server_group", String(255), nullable=False, server_default=""),
)

# v1: the children that registered with this cell.
children = Table(
    "children",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("address", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("capabilities", Text, nullable=False),  # JSON list
    Column("capacity", Text, nullable=False),  # JSON, the last report
    Column("registered_at", Float, nullable=False),
)

# v7: where a router sent each service object (routing.objects): request id ->
# child, and the object's uuid once the child answered.
object_locations = Table(
    "object_locations",
    metadata,
    Column("request_id", String(255), primary_key=True),
    Column("uuid", String(36), unique=True, nullable=True),
    Column("child", String(63), nullable=False),
    Column("updated_at", Float, nullable=False),
)
