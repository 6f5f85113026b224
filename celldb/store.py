"""What every store in a cell's database writes through: a transaction whose
failures leave as DatabaseUnavailable, and an upsert both databases speak."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite

from celldb.errors import translated


@contextmanager
def transaction(engine: Engine, what: str) -> Iterator[Connection]:
    """A transaction on `engine`, committed when the block ends; any failure of
    the database, on opening it or inside the block, leaves as
    DatabaseUnavailable("WHAT unavailable: ...") and rolls it back."""
    with translated(what), engine.begin() as conn:
        yield conn


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
