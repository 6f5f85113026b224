"""How a cell's database is opened: the one place engines are made.

SQLite runs in WAL mode, its transactions begun where SQLAlchemy says (so a
schema step cut short rolls back whole); PostgreSQL connections are checked
before use (`pool_pre_ping`), since a server restarts under a running cell.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from celldb.errors import DatabaseUnavailable
from celldb.schema import SchemaSteps, upgrade


def engine_for(url: str, *, pool_size: int | None = None,
               connect_timeout: int | None = None) -> Engine:
    """An engine for `url`, set up as cellrouter needs it, without upgrading.
    `pool_size` caps its connections (no overflow); `connect_timeout` (seconds)
    bounds each connection attempt to a PostgreSQL server."""
    options: dict[str, Any] = {"pool_pre_ping": not url.startswith("sqlite")}
    if pool_size is not None:
        options.update(pool_size=pool_size, max_overflow=0)
    if connect_timeout is not None:
        options["connect_args"] = {"connect_timeout": connect_timeout}
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def open_database(url: str, schema: SchemaSteps | None = None) -> Engine:
    """Open (and create or upgrade, by `schema`'s steps: the cells' unless
    another is given) the database at `url`; DatabaseUnavailable, the URL's
    password hidden, when that fails.

    SQLite can refuse a lock at once (instead of waiting) when processes
    race to switch a database to WAL mode; such a start is tried again.
    """
    try:
        engine = engine_for(url)
        for attempt in Retrying(retry=retry_if_exception(_locked), reraise=True,
                                stop=stop_after_attempt(10),
                                wait=wait_random_exponential(multiplier=0.05, max=1.0)):
            with attempt:
                upgrade(engine, schema)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"cannot open database {redact(url)}: {exc}") from exc
    return engine


def create_schema(base: str, schema: str) -> None:
    """Create the PostgreSQL schema `schema` in the database at `base` unless it
    is there. DatabaseUnavailable, saying why in one line, when the server
    cannot be reached or refuses, or its driver (psycopg) is not installed."""
    _administer(base, f'CREATE SCHEMA IF NOT EXISTS "{schema}"')


def drop_schema(base: str, schema: str) -> None:
    """Drop the PostgreSQL schema `schema`, with everything in it, if it is there."""
    _administer(base, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _administer(base: str, statement: str) -> None:
    try:
        engine = engine_for(base, connect_timeout=5)
        try:
            with engine.begin() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()
    except (SQLAlchemyError, ImportError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, ImportError):
            reason += " (install cellrouter's postgres extra: psycopg)"
        raise DatabaseUnavailable(reason) from exc


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


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


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)
