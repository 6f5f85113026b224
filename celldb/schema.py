"""The one ordered sequence of schema steps that builds a cell's database, the
version table that says how far it got, and the lock under which it is upgraded.
The machinery (`SchemaSteps`, `upgrade`) serves another database too: the
API's brings its own steps, version table and lock (api.db.schema).

The schema carries a version number; `upgrade` brings an older database up to
the current version, one numbered step at a time, so a cell starts on a
database written by an earlier release. Each step creates the tables of its
release in the shape they had then (frozen copies, apart from the rooms'
current-shape tables on `metadata`), so this module imports no room.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
)

from celldb.errors import DatabaseUnavailable

# Every room declares its current-shape tables on this (routing.tables,
# agents.tables, cells.outcomes); nothing creates them from it: the steps do.
metadata = MetaData()

schema_version = Table(
    "cellrouter_schema",
    metadata,
    Column("version", Integer, nullable=False),
)


def _v1(conn: Connection) -> None:
    """The first release's tables, frozen as they were."""
    v1 = MetaData()
    Table(
        "locations", v1,
        Column("uuid", String(36), primary_key=True),
        Column("request_id", String(255), unique=True, nullable=True),
        Column("child", String(63), nullable=False),
        Column("cell_path", Text, nullable=False),
        Column("host", String(255), nullable=False),
        Column("project", String(255), nullable=False),
        Column("state", String(16), nullable=False),
        Column("pending", Boolean, nullable=False),
        Column("updated_at", Float, nullable=False),
    )
    Table(
        "children", v1,
        Column("name", String(63), primary_key=True),
        Column("address", String(255), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("capabilities", Text, nullable=False),
        Column("capacity", Text, nullable=False),
        Column("registered_at", Float, nullable=False),
    )
    v1.create_all(conn)


def _v2(conn: Connection) -> None:
    """Instance name and creation time for lists; an index for per-child queries."""
    conn.exec_driver_sql(
        "ALTER TABLE locations ADD COLUMN name VARCHAR(255) NOT NULL DEFAULT ''"
    )
    conn.exec_driver_sql("ALTER TABLE locations ADD COLUMN created_at FLOAT NOT NULL DEFAULT 0")
    conn.exec_driver_sql("CREATE INDEX ix_locations_child ON locations (child)")


def _v3(conn: Connection) -> None:
    """Server group of each instance, for affinity and anti-affinity."""
    conn.exec_driver_sql(
        "ALTER TABLE locations ADD COLUMN server_group VARCHAR(255) NOT NULL DEFAULT ''"
    )


def _v4(conn: Connection) -> None:
    """PostgreSQL: every change or removal of a row is announced (NOTIFY) on the
    channel `cellrouter_<schema>` with the row's uuid, so that every process
    sharing the database (replicas of a cell) drops it from its cache
    (routing.invalidation). A new row needs no word: nobody has it cached.
    SQLite has no such thing, and needs none: one process writes it."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(
        "CREATE OR REPLACE FUNCTION cellrouter_location_changed() RETURNS trigger AS $$"
        " BEGIN"
        "  IF TG_OP = 'DELETE' THEN"
        "   PERFORM pg_notify('cellrouter_' || current_schema(), OLD.uuid);"
        "  ELSE"
        "   PERFORM pg_notify('cellrouter_' || current_schema(), NEW.uuid);"
        "  END IF;"
        "  RETURN NULL;"
        " END $$ LANGUAGE plpgsql")
    conn.exec_driver_sql(
        "CREATE TRIGGER locations_changed AFTER UPDATE OR DELETE ON locations"
        " FOR EACH ROW EXECUTE FUNCTION cellrouter_location_changed()")


def _v5(conn: Connection) -> None:
    """The agents that report to a leaf (service objects on agents)."""
    v5 = MetaData()
    Table(
        "agents", v5,
        Column("id", String(255), primary_key=True),
        Column("host", String(255), nullable=False),
        Column("kind", String(63), nullable=False),
        Column("capabilities", Text, nullable=False),
        Column("availability_zone", String(255), nullable=False),
        Column("admin_up", Boolean, nullable=False),
        Column("load", Integer, nullable=False),
        Column("enabled", Boolean, nullable=False),
        Column("first_heard", Float, nullable=False),
    )
    v5.create_all(conn)


def _v6(conn: Connection) -> None:
    """The service objects bound to agents, and the log of binding changes an
    agent's watch resumes from (by revision)."""
    v6 = MetaData()
    Table(
        "service_objects", v6,
        Column("uuid", String(36), primary_key=True),
        Column("request_id", String(255), unique=True, nullable=False),
        Column("name", String(255), nullable=False),
        Column("kind", String(63), nullable=False),
        Column("needs", Text, nullable=False),
        Column("hints", Text, nullable=False),
        Column("project", String(255), nullable=False),
        Column("agent", String(255), nullable=False, index=True),
        Column("state", String(16), nullable=False),
        Column("fault", Text, nullable=False),
        Column("revision", Integer, nullable=False),
    )
    Table(
        "binding_log", v6,
        Column("revision", Integer, nullable=False),
        Column("uuid", String(36), nullable=False),
        Column("agent", String(255), nullable=False),
        Column("bound", Boolean, nullable=False),
        Index("ix_binding_log_agent_revision", "agent", "revision"),
    )
    v6.create_all(conn)


def _v7(conn: Connection) -> None:
    """Where a router sent each service object, kept apart from the instances'."""
    v7 = MetaData()
    Table(
        "object_locations", v7,
        Column("request_id", String(255), primary_key=True),
        Column("uuid", String(36), unique=True, nullable=True),
        Column("child", String(63), nullable=False),
        Column("updated_at", Float, nullable=False),
    )
    v7.create_all(conn)


def _v8(conn: Connection) -> None:
    """A leaf's memory of the actions it applied, by request id."""
    v8 = MetaData()
    Table(
        "action_outcomes", v8,
        Column("request_id", String(255), primary_key=True),
        Column("uuid", String(36), nullable=False),
        Column("action", String(16), nullable=False),
        Column("answer", Text, nullable=True),
        Column("created_at", Float, nullable=False, index=True),
    )
    v8.create_all(conn)


def _v9(conn: Connection) -> None:
    """What users set on a leaf's instances: name, description, metadata, tags, lock."""
    v9 = MetaData()
    Table(
        "instance_attributes", v9,
        Column("uuid", String(36), primary_key=True),
        Column("name", Text, nullable=True),
        Column("attributes", Text, nullable=False),
        Column("updated_at", Float, nullable=False),
    )
    v9.create_all(conn)


def _v10(conn: Connection) -> None:
    """Routers find the children holding an affinity group's members."""
    conn.exec_driver_sql("CREATE INDEX ix_locations_server_group ON locations (server_group)")


def _v11(conn: Connection) -> None:
    """What was done to a leaf's instances (Nova's instance actions)."""
    v11 = MetaData()
    Table(
        "instance_actions", v11,
        Column("uuid", String(36), primary_key=True),
        Column("request_id", String(255), primary_key=True),
        Column("action", String(32), nullable=False),
        Column("project", String(255), nullable=False),
        Column("user_id", String(255), nullable=False),
        Column("start_time", Float, nullable=False),
        Column("finish_time", Float, nullable=True),
        Column("event", String(64), nullable=False),
        Column("result", String(16), nullable=True),
        Column("message", Text, nullable=True),
        Column("host", String(255), nullable=False),
        Column("deleted_at", Float, nullable=True, index=True),
    )
    v11.create_all(conn)


def _v12(conn: Connection) -> None:
    """A leaf's notification outbox (notify.outbox): each event written in the
    transaction of its change, sent in `id` order, deleted once the bus confirms."""
    v12 = MetaData()
    Table(
        "notify_outbox", v12,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
               autoincrement=True),
        Column("message_id", String(36), nullable=False),
        Column("event_type", String(64), nullable=False),
        Column("uuid", String(36), nullable=False),  # "" for an event of no instance
        Column("message", Text, nullable=False),  # the oslo message, JSON
        Column("created_at", Float, nullable=False),
    )
    v12.create_all(conn)


# Step N brings a database at version N-1 to version N. Append, never edit:
# a cell must start on any database an earlier release wrote.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10,
                                               _v11, _v12]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True, slots=True)
class SchemaSteps:
    """One database's ordered schema steps, the table that records how far it
    got, and the advisory lock id its upgrades take on PostgreSQL. The cells'
    database is `cells()`; another database (the API's, api.db.schema) brings its
    own, with a version table and lock id of its own."""

    version_table: Table
    steps: Sequence[Callable[[Connection], None]]
    lock_id: int

    @property
    def version(self) -> int:
        return len(self.steps)


# Any constant: PostgreSQL advisory lock id that serialises upgrades.
_UPGRADE_LOCK = 0x63656C6C


def cells() -> SchemaSteps:
    """The cells' database: MIGRATIONS as they stand (tests replace them)."""
    return SchemaSteps(schema_version, MIGRATIONS, _UPGRADE_LOCK)


def upgrade_to(engine: Engine, version: int, schema: SchemaSteps | None = None) -> None:
    """Bring a database to exactly `version` (for tests of upgrades)."""
    schema = schema or cells()
    with _migrating(engine, schema) as conn:
        current = current_version(conn, schema)
        for step in schema.steps[current:version]:
            step(conn)
        _set_version(conn, schema, current, version)


def _set_version(conn: Connection, schema: SchemaSteps, old: int, new: int) -> None:
    if old == 0:
        conn.execute(schema.version_table.insert().values(version=new))
    elif old != new:
        conn.execute(schema.version_table.update().values(version=new))


def current_version(conn: Connection, schema: SchemaSteps | None = None) -> int:
    """The version a database is at (0 for an empty one), inside an upgrade."""
    table = (schema or cells()).version_table
    table.create(conn, checkfirst=True)
    version = conn.execute(select(table.c.version)).scalar()
    return int(version or 0)


@contextmanager
def _migrating(engine: Engine, schema: SchemaSteps) -> Iterator[Connection]:
    """One transaction holding the database's upgrade lock: a second process
    upgrading at the same time waits, then finds the work done."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({schema.lock_id})")
            yield conn


def upgrade(engine: Engine, schema: SchemaSteps | None = None) -> None:
    """Bring a database to `schema`'s version (by default the cells': SCHEMA_VERSION).
    DatabaseUnavailable for one newer than this release; SQLAlchemy's errors
    leave untranslated (`engine.open_database` translates them, and tries again
    when SQLite was locked)."""
    schema = schema or cells()
    with _migrating(engine, schema) as conn:
        version = current_version(conn, schema)
        if version > schema.version:
            raise DatabaseUnavailable(
                f"database schema is version {version}, newer than this release"
                f" understands ({schema.version}); upgrade cellrouter"
            )
        for step in schema.steps[version:]:
            step(conn)
        _set_version(conn, schema, version, schema.version)
