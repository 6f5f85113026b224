"""The API database's tables in their current shape (the schema steps in
api.db.schema create them; nothing creates them from here)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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
    "cellrouter_api_schema", metadata,
    Column("version", Integer, nullable=False),
)

keypairs = Table(
    "keypairs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(16), nullable=False),
    Column("fingerprint", String(255), nullable=False),
    Column("public_key", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("user_id", "name", name="uq_keypairs_user_name"),
)

# The keypair a server was booted with (key_name of its body), by server uuid:
# only for servers booted before the instance kept it (keypairs.ServerKeys).
server_keys = Table(
    "server_keys", metadata,
    Column("uuid", String(36), primary_key=True),
    Column("key_name", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),
)

flavors = Table(
    "flavors", metadata,
    Column("id", String(255), primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("vcpus", Integer, nullable=False),
    Column("ram", Integer, nullable=False),
    Column("disk", Integer, nullable=False),
    Column("ephemeral", Integer, nullable=False),
    Column("swap", Integer, nullable=False),
    Column("rxtx_factor", Float, nullable=False),
    Column("is_public", Boolean, nullable=False),
    Column("description", Text, nullable=True),
    Column("created_at", Float, nullable=False),
)

flavor_extra_specs = Table(
    "flavor_extra_specs", metadata,
    Column("flavor_id", String(255), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", String(255), nullable=False),
)

flavor_projects = Table(
    "flavor_projects", metadata,
    Column("flavor_id", String(255), primary_key=True),
    Column("project", String(255), primary_key=True),
)

# A project's limits where an admin set them; a resource without a row has
# the default.
quota_limits = Table(
    "quota_limits", metadata,
    Column("project", String(255), primary_key=True),
    Column("resource", String(63), primary_key=True),
    Column("hard_limit", Integer, nullable=False),
)

# One row per scope ("project:P", "user:U") that quota checks lock (FOR UPDATE
# on PostgreSQL), so checks of one scope run one at a time across processes.
quota_locks = Table(
    "quota_locks", metadata,
    Column("scope", String(255), primary_key=True),
)

# A server being booted, counted against its project's quota until the tree
# counts it: while in flight (uuid NULL, until expires_at), then, once its
# boot returned (settled_at), until a list of the tree begun after that time.
quota_reservations = Table(
    "quota_reservations", metadata,
    Column("id", String(36), primary_key=True),
    Column("project", String(255), nullable=False, index=True),
    Column("instances", Integer, nullable=False),
    Column("cores", Integer, nullable=False),
    Column("ram", Integer, nullable=False),
    Column("uuid", String(36), nullable=True),
    Column("expires_at", Float, nullable=False),
    Column("settled_at", Float, nullable=True),
)

# Host aggregates (os-aggregates). The availability zone is the metadata key
# "availability_zone", as Nova keeps it; hosts are the tree's, by name.
aggregates = Table(
    "aggregates", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=True),
)

aggregate_hosts = Table(
    "aggregate_hosts", metadata,
    Column("aggregate_id", Integer, primary_key=True),
    Column("host", String(255), primary_key=True),
)

aggregate_metadata = Table(
    "aggregate_metadata", metadata,
    Column("aggregate_id", Integer, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", String(255), nullable=False),
)

# The limits of a quota class (os-quota-class-sets); the class "default" is
# every project's default where it has a row, over DEFAULTS.
quota_classes = Table(
    "quota_classes", metadata,
    Column("class_name", String(255), primary_key=True),
    Column("resource", String(63), primary_key=True),
    Column("hard_limit", Integer, nullable=False),
)

# Server groups (os-server-groups), a project's; `rules` is Nova's JSON object
# (max_server_per_host for anti-affinity), as text.
server_groups = Table(
    "server_groups", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("project", String(255), nullable=False, index=True),
    Column("user_id", String(255), nullable=False),
    Column("policy", String(32), nullable=False),
    Column("rules", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

# A group's members, by server uuid (a server is in at most one group).
server_group_members = Table(
    "server_group_members", metadata,
    Column("uuid", String(36), primary_key=True),
    Column("group_id", Integer, nullable=False, index=True),
)

# Tokens revoked before they expire, as Keystone's revocation events: one
# token by its audit id (DELETE /identity/v3/auth/tokens), or every token of
# a user, a project or a user on a project issued until `revoked_at` (the key
# names the subject: api.identity.revocation). A row is of no use past
# `expires_at` (when the tokens it matches have expired), and is deleted after it.
revoked_tokens = Table(
    "revoked_tokens", metadata,
    Column("audit_id", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False, index=True),
    Column("revoked_at", Float, nullable=False),
)

# Images created through the image API (api.image), as Glance keeps them: the
# uploaded data's size and digests once it is in (status active); the bytes
# themselves are files (api.image.files). `owner` is the creator's project.
images = Table(
    "images", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=True),
    Column("owner", String(255), nullable=False, index=True),
    Column("visibility", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("disk_format", String(16), nullable=True),
    Column("container_format", String(16), nullable=True),
    Column("min_disk", Integer, nullable=False),
    Column("min_ram", Integer, nullable=False),
    Column("protected", Boolean, nullable=False),
    Column("os_hidden", Boolean, nullable=False),
    Column("size", BigInteger, nullable=True),
    Column("checksum", String(32), nullable=True),
    Column("os_hash_value", String(128), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# An image's properties (Glance's extra properties, Nova's image metadata).
image_properties = Table(
    "image_properties", metadata,
    Column("image_id", String(36), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)

image_tags = Table(
    "image_tags", metadata,
    Column("image_id", String(36), primary_key=True),
    Column("tag", String(255), primary_key=True),
)

# Web hook subscriptions (api.hooks): where to POST which events, signed with
# `secret`. `project` scopes them to one project's events ("" for every
# project's and the tree's own: admins only); `events` is a JSON list of glob
# patterns over event types.
hook_subscriptions = Table(
    "hook_subscriptions", metadata,
    Column("id", String(36), primary_key=True),
    Column("project", String(255), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("secret", String(255), nullable=False),
    Column("events", Text, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("created_at", Float, nullable=False),
)

# The deliveries outbox: one row per event per matching subscription, written
# by the dispatcher before it acks the event (api.hooks.deliveries). The
# unique (subscription, message) makes a redelivered event no second row;
# `id` is the order a subscriber gets them in. `state`: pending, delivered,
# dead; a deliverer holds a pending row while `lease_until` is ahead.
hook_deliveries = Table(
    "hook_deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", String(36), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", Float, nullable=False),
    Column("lease_until", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("subscription_id", "message_id", name="uq_hook_deliveries_sub_message"),
    Index("ix_hook_deliveries_sub_state", "subscription_id", "state", "id"),
)
