"""A cell's own database: its tables, how it is opened, how it is upgraded.

SQLite (the default, in WAL mode) and PostgreSQL run the same code. The
schema carries a version number; `open_database` brings an older database up
to the current version, one numbered step at a time, so a cell starts on a
database written by an earlier release.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
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
    create_engine,
    event,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from routing.errors import IndexUnavailable

metadata = MetaData()

schema_version = Table(
    "cellrouter_schema",
    metadata,
    Column("version", Integer, nullable=False),
)

# uuid -> where the instance lives, as seen from this cell. (Current shape;
# the migrations below build it step by step.)
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

# The children that registered with this cell.
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

# v8: what a leaf answered to each action, by request id (cells.outcomes), so
# that an action sent again after its answer was lost is not applied twice.
action_outcomes = Table(
    "action_outcomes",
    metadata,
    Column("request_id", String(255), primary_key=True),
    Column("uuid", String(36), nullable=False),
    Column("action", String(16), nullable=False),
    Column("answer", Text, nullable=True),  # JSON of the instance; NULL while under way
    Column("created_at", Float, nullable=False, index=True),
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


# Step N brings a database at version N-1 to version N. Append, never edit:
# a cell must start on any database an earlier release wrote.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8]
SCHEMA_VERSION = len(MIGRATIONS)


def upgrade_to(engine: Engine, version: int) -> None:
    """Bring a database to exactly `version` (for tests of upgrades)."""
    with _migrating(engine) as conn:
        current = current_version(conn)
        for step in MIGRATIONS[current:version]:
            step(conn)
        _set_version(conn, current, version)


def _set_version(conn: Connection, old: int, new: int) -> None:
    if old == 0:
        conn.execute(schema_version.insert().values(version=new))
    elif old != new:
        conn.execute(schema_version.update().values(version=new))


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions
    # begin (see _sqlite_begin): otherwise DDL commits statement by statement
    # and a migration cut short could not be run again.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    # Wait for other processes' locks first: switching to WAL needs one.
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # "BEGIN IMMEDIATE" when asked for (migrations): take the write lock
    # before reading the schema version, so concurrent upgrades queue up.
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def engine_for(url: str) -> Engine:
    """An engine for `url`, set up as cellrouter needs it, without upgrading."""
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def open_database(url: str) -> Engine:
    """Open (and create or upgrade) the database at `url`.

    SQLite can refuse a lock at once (instead of waiting) when processes
    race to switch a database to WAL mode; such a start is tried again.
    """
    try:
        engine = engine_for(url)
        for attempt in Retrying(retry=retry_if_exception(_locked), reraise=True,
                                stop=stop_after_attempt(10),
                                wait=wait_random_exponential(multiplier=0.05, max=1.0)):
            with attempt:
                upgrade(engine)
    except SQLAlchemyError as exc:
        raise IndexUnavailable(f"cannot open database {_redact(url)}: {exc}") from exc
    return engine


def current_version(conn: Connection) -> int:
    schema_version.create(conn, checkfirst=True)
    version = conn.execute(select(schema_version.c.version)).scalar()
    return int(version or 0)


# Any constant: PostgreSQL advisory lock id that serialises upgrades.
_UPGRADE_LOCK = 0x63656C6C


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the database's upgrade lock: a second process
    upgrading at the same time waits, then finds the work done."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_UPGRADE_LOCK})")
            yield conn


def upgrade(engine: Engine) -> None:
    with _migrating(engine) as conn:
        version = current_version(conn)
        if version > SCHEMA_VERSION:
            raise IndexUnavailable(
                f"database schema is version {version}, newer than this release"
                f" understands ({SCHEMA_VERSION}); upgrade cellrouter"
            )
        for step in MIGRATIONS[version:]:
            step(conn)
        _set_version(conn, version, SCHEMA_VERSION)


@functools.cache
def _upsert_statement(dialect_name: str, table: Table, key: str) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE of every column, built once per
    table so that SQLAlchemy compiles it once and reuses it."""
    dialect: Any = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[key],
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name != key},
    )


def upsert(conn: Connection, table: Table, key: str, values: dict[str, Any]) -> None:
    """Insert `values` (every column of `table`), or update the row whose `key` matches."""
    conn.execute(_upsert_statement(conn.dialect.name, table, key), values)


def _redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
