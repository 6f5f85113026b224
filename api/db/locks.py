"""The lock under which a quota check counts and takes: one row per scope.

On PostgreSQL the scope's row is locked (SELECT ... FOR UPDATE) until the
transaction ends, so two API processes checking one project take turns and
the second counts what the first took. SQLite has one writer at a time: a
transaction that writes the row holds the database's write lock until it
ends, which serialises the same way.
"""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from api.db import tables

q = tables.quota_locks


def lock_scope(conn: Connection, scope: str) -> None:
    """Hold `scope`'s lock until `conn`'s transaction ends."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(q).values(scope=scope).on_conflict_do_nothing())
    if conn.dialect.name == "postgresql":
        conn.execute(select(q.c.scope).where(q.c.scope == scope).with_for_update())
    else:  # take SQLite's write lock now, before counting (the insert may have done nothing)
        conn.execute(q.update().where(q.c.scope == scope).values(scope=scope))
