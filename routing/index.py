"""The location index: instance uuid -> where it lives below this cell.

Every cell keeps one in its own database. A router cell records the child it
sent an instance to; a leaf records the host. Rows are written before a boot
is forwarded (marked pending), so a request racing the boot finds them.

Reads come first from a bounded in-memory cache (cachetools TTLCache), then
from the database through a per-thread connection that skips SQLAlchemy's
statement machinery (the one query on every routed call). Every write goes
through SQLAlchemy and keeps the cache in step.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from cachetools import TTLCache
from sqlalchemy import Connection, Engine, func, select

from celldb.engine import open_database
from celldb.errors import DatabaseUnavailable, translated
from celldb.store import transaction
from model.compute import Instance
from routing.errors import Conflict
from routing.invalidation import Invalidations, OwnConnections
from routing.tables import locations

DEFAULT_CACHE_SIZE = 100_000
DEFAULT_CACHE_TTL = 300.0
LISTEN_WAIT = 5.0  # seconds an index on PostgreSQL waits, at start, for its listener

_COLUMNS = (
    "uuid, child, cell_path, host, project, state, request_id, pending, name, created_at,"
    " server_group"
)


@dataclass(frozen=True, slots=True)
class Location:
    uuid: str
    child: str  # the next hop below this cell; "" at a leaf
    cell_path: str = ""  # the leaf's full path, once known
    host: str = ""
    project: str = ""
    state: str = "BUILDING"
    request_id: str | None = None
    pending: bool = False
    name: str = ""
    created_at: float = 0.0
    server_group: str = ""


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits: int
    misses: int
    size: int


class LocationIndex:
    """Persistent uuid -> Location map with a cache. Safe to share between threads."""

    def __init__(
        self,
        engine: Engine,
        cache_size: int = DEFAULT_CACHE_SIZE,
        cache_ttl: float = DEFAULT_CACHE_TTL,
    ) -> None:
        self._engine = engine
        self._cache: TTLCache[str, Location] = TTLCache(maxsize=cache_size, ttl=cache_ttl)
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        # Bumped by every write; a lookup caches what it read only if no write
        # happened meanwhile (else it could put back a row just forgotten).
        self._generation = 0
        # One connection for the hot read path, shared under a lock: a read
        # takes microseconds, and a cell's calls come from one event loop.
        self._reader: Any = None
        # Re-entrant: the statements of a unit (see `unit`) take it again.
        self._reader_lock = threading.RLock()
        self._unit_depth = 0  # > 0 inside `unit`, on the thread holding the lock
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        columns = [c.strip() for c in _COLUMNS.split(",")] + ["updated_at"]
        self._by_uuid_sql = f"SELECT {_COLUMNS} FROM locations WHERE uuid = {mark}"
        self._by_request_sql = f"SELECT {_COLUMNS} FROM locations WHERE request_id = {mark}"
        self._delete_sql = f"DELETE FROM locations WHERE uuid = {mark}"
        # An empty place in a change keeps what the row had.
        self._update_sql = (
            f"UPDATE locations SET state = {mark}, pending = FALSE, updated_at = {mark},"
            f" cell_path = COALESCE(NULLIF({mark}, ''), cell_path),"
            f" host = COALESCE(NULLIF({mark}, ''), host) WHERE uuid = {mark}"
        )
        # Both SQLite and PostgreSQL speak this upsert.
        self._record_sql = (
            f"INSERT INTO locations ({', '.join(columns)})"
            f" VALUES ({', '.join([mark] * len(columns))})"
            " ON CONFLICT (uuid) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in columns if c != "uuid")
        )
        # A new boot's pending row: no upsert, so that of two writers (two replicas
        # of this cell over one database) exactly one gets it.
        self._claim_sql = (f"INSERT INTO locations ({', '.join(columns)})"
                           f" VALUES ({', '.join([mark] * len(columns))})")
        self._integrity_error: type[Exception] = engine.dialect.loaded_dbapi.IntegrityError
        self._driver_error: type[Exception] = engine.dialect.loaded_dbapi.Error
        self._invalidations: Invalidations | None = None
        if engine.dialect.name == "postgresql":
            # Other processes on the database (replicas of this cell) change rows
            # this cache holds: hear of it (routing.invalidation). Connections made
            # before now are dropped, so that every one this index writes with is
            # known as its own.
            own = OwnConnections(engine)
            engine.dispose()
            self._invalidations = Invalidations(engine, own, self.evict, self.clear_cache)
            # Listening before the first lookup: the cache it fills is then
            # never cleared by the listener's start (it clears when it connects).
            self._invalidations.wait_listening(LISTEN_WAIT)

    @classmethod
    def open(
        cls, url: str, cache_size: int = DEFAULT_CACHE_SIZE, cache_ttl: float = DEFAULT_CACHE_TTL
    ) -> LocationIndex:
        return cls(open_database(url), cache_size, cache_ttl)

    @property
    def engine(self) -> Engine:
        return self._engine

    # ------------------------------------------------------------ reads

    def lookup(self, uuid: str) -> Location | None:
        """Where `uuid` lives: from the cache, else from the database."""
        with self._lock:
            found = self._cache.get(uuid)
            if found is not None:
                self._hits += 1
                return found
            self._misses += 1
            generation = self._generation
        found = self.lookup_uncached(uuid)
        if found is not None:
            with self._lock:
                if self._generation == generation:
                    self._cache[uuid] = found
        return found

    def lookup_uncached(self, uuid: str) -> Location | None:
        """Straight from the database (benchmarks and consistency checks)."""
        row = self._execute(self._by_uuid_sql, (uuid,))
        return _location(row) if row else None

    def by_request_id(self, request_id: str) -> Location | None:
        row = self._execute(self._by_request_sql, (request_id,))
        return _location(row) if row else None

    def in_child(self, child: str, limit: int = 10_000) -> list[Location]:
        """Rows whose next hop is `child` (for listing a cell that does not answer)."""
        with self._begin() as conn:
            rows = conn.execute(
                select(locations).where(locations.c.child == child).limit(limit)
            ).all()
        return [_from_row(r) for r in rows]

    def children_of_group(self, group: str) -> set[str]:
        """The children holding members of server group `group` (as recorded by
        the boots of its members that went through this cell)."""
        with self._begin() as conn:
            rows = conn.execute(select(locations.c.child).distinct()
                                .where(locations.c.server_group == group)).all()
        return {child for (child,) in rows}

    def pending(self) -> list[Location]:
        """Rows of boots not known to have ended (one cut short by a crash, or in flight)."""
        with self._begin() as conn:
            rows = conn.execute(select(locations).where(locations.c.pending.is_(True))).all()
        return [_from_row(r) for r in rows]

    def placements(self) -> list[tuple[str, str, str]]:
        """(uuid, host, server group) of every row (a leaf's view of its hosts)."""
        with self._begin() as conn:
            rows = conn.execute(
                select(locations.c.uuid, locations.c.host, locations.c.server_group)
            ).all()
        return [(uuid, host, group) for uuid, host, group in rows]

    def count(self) -> int:
        with self._begin() as conn:
            return int(conn.execute(select(func.count()).select_from(locations)).scalar() or 0)

    def count_by_child(self) -> dict[str, int]:
        with self._begin() as conn:
            rows = conn.execute(
                select(locations.c.child, func.count()).group_by(locations.c.child)
            ).all()
        return {child: int(n) for child, n in rows}

    def cache_stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._cache))

    # ----------------------------------------------------------- writes

    def record(self, loc: Location) -> None:
        """Insert or replace the row for `loc.uuid`.

        Raises Conflict when another uuid holds `loc.request_id`.
        """
        self._write(self._record_sql, loc)

    def claim(self, loc: Location) -> None:
        """Insert the row for `loc.uuid`, a new boot's. Raises Conflict when a row
        has that uuid or request id already: the insert is where two writers of the
        same boot meet, and only one gets it."""
        self._write(self._claim_sql, loc)

    def _write(self, sql: str, loc: Location) -> None:
        params = (loc.uuid, loc.child, loc.cell_path, loc.host, loc.project, loc.state,
                  loc.request_id, loc.pending, loc.name, loc.created_at, loc.server_group,
                  time.time())
        try:
            self._execute(sql, params, fetch=False)
        except DatabaseUnavailable as exc:
            if isinstance(exc.__cause__, self._integrity_error):
                # Another boot with the same key recorded its row a moment ago.
                raise Conflict(
                    f"a boot with request id {loc.request_id} is already in progress"
                ) from exc
            raise
        self._remember(loc)

    def set_state(self, uuid: str, state: str, cell_path: str = "", host: str = "") -> None:
        """Update a known row's state (and where it landed, when given)."""
        self.apply([(uuid, state, cell_path, host)])

    def apply(self, changes: Iterable[tuple[str, str, str, str]]) -> None:
        """Apply (uuid, state, cell_path, host) changes in one transaction.

        State "DELETED" removes the row; unknown uuids are skipped.
        """
        now = time.time()
        applied = list(changes)
        updates = [(state, now, cell_path, host, uuid)
                   for uuid, state, cell_path, host in applied if state != "DELETED"]
        deletes = [(uuid,) for uuid, state, _, _ in applied if state == "DELETED"]
        self._execute_batch([(self._update_sql, updates), (self._delete_sql, deletes)])
        with self._lock:
            self._generation += 1
            for uuid, state, cell_path, host in applied:
                cached = self._cache.get(uuid)
                if cached is None:
                    continue
                if state == "DELETED":
                    self._cache.pop(uuid, None)
                else:
                    self._cache[uuid] = replace(
                        cached, state=state, pending=False,
                        cell_path=cell_path or cached.cell_path, host=host or cached.host,
                    )

    def forget(self, uuid: str) -> None:
        self._execute(self._delete_sql, (uuid,), fetch=False)
        with self._lock:
            self._generation += 1
            self._cache.pop(uuid, None)

    def clear_host(self, uuid: str) -> None:
        """The row's instance is on no host now (a shelved offloaded one):
        `set_state` and `apply` keep a host they are not given, so this says it."""
        self._execute(f"UPDATE locations SET host = '' WHERE uuid = {self.mark}", (uuid,),
                      fetch=False)
        self.evict(uuid)

    def evict(self, uuid: str) -> None:
        """Drop `uuid` from the cache (another process changed its row)."""
        with self._lock:
            self._generation += 1
            self._cache.pop(uuid, None)

    def clear_cache(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache.clear()

    def hearing_others(self, timeout: float) -> bool:
        """Whether changes by other processes on this database evict cached rows
        (PostgreSQL, once its listener is up); False on SQLite."""
        return self._invalidations is not None and self._invalidations.wait_listening(timeout)

    def close(self) -> None:
        if self._invalidations is not None:
            self._invalidations.close()
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        self._engine.dispose()

    # ---------------------------------------------------------- helpers

    def _remember(self, loc: Location) -> None:
        with self._lock:
            self._generation += 1
            self._cache[loc.uuid] = loc

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """A transaction; the database's errors leave as DatabaseUnavailable."""
        with transaction(self._engine, "location index") as conn:
            yield conn

    def _execute(self, sql: str, params: tuple[Any, ...], fetch: bool = True) -> Any:
        """One statement through the shared autocommit DBAPI connection: the
        hot path (lookups, and the writes of each boot and delete) skips
        SQLAlchemy's statement machinery; the rest goes through it."""
        with self._raw() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() if fetch else None

    @property
    def mark(self) -> str:
        """This database's placeholder for a statement's parameters ("?" or "%s")."""
        return "?" if self._engine.dialect.paramstyle == "qmark" else "%s"

    def statement(self, sql: str, params: tuple[Any, ...],
                  store: str = "location index") -> tuple[Any, int]:
        """Run one statement of a store that lives in this cell's database beside
        the index (cells.outcomes) on the index's hot-path connection, without
        SQLAlchemy's statement machinery: its first row (None when it returns
        none) and how many rows it changed. DatabaseUnavailable, naming `store`,
        when it fails."""
        with self._raw(store) as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone() if cursor.description is not None else None
            return row, cursor.rowcount

    @contextmanager
    def unit(self, store: str = "location index") -> Iterator[None]:
        """Several statements in one transaction: every write this thread makes on
        the hot-path connection inside the block (`statement`, `record`, `claim`,
        `set_state`, `apply`, `forget`) commits at its end, together, or none does
        (an exception inside rolls them all back, and the cache, which may hold
        what was not kept, is cleared). For a change and the rows that must go
        with it (notify.outbox: the event of a change). Units nest; the inner
        joins the outer. The block must not await: the connection is held from
        BEGIN to COMMIT. DatabaseUnavailable, naming `store`, when it fails."""
        with self._reader_lock:
            if self._unit_depth:
                self._unit_depth += 1
                try:
                    yield
                finally:
                    self._unit_depth -= 1
                return
            with self._raw(store) as cursor:
                cursor.execute("BEGIN")
            self._unit_depth = 1
            try:
                yield
            except BaseException:
                self._unit_depth = 0
                self._rollback()
                raise
            self._unit_depth = 0
            try:
                with self._raw(store) as cursor:
                    cursor.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        """End the open unit without keeping it (a lost connection ended it already)."""
        self.clear_cache()
        if self._reader is None:
            return
        try:
            with self._raw() as cursor:
                cursor.execute("ROLLBACK")
        except DatabaseUnavailable:
            pass  # the connection is dropped: so is what it held

    def rows(self, sql: str, params: tuple[Any, ...],
             store: str = "location index") -> list[tuple[Any, ...]]:
        """Every row of one query of a store beside the index (notify.outbox),
        on the hot-path connection, as `statement` runs one."""
        with self._raw(store) as cursor:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]

    def _execute_batch(self, batches: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        """Several statements, each over many rows, in one transaction (the
        open unit's, inside one)."""
        if not any(rows for _, rows in batches):
            return
        if self._unit_depth:
            with self._raw() as cursor:
                for sql, rows in batches:
                    if rows:
                        cursor.executemany(sql, rows)
            return
        with self._raw() as cursor:
            cursor.execute("BEGIN")
            try:
                for sql, rows in batches:
                    if rows:
                        cursor.executemany(sql, rows)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    @contextmanager
    def _raw(self, store: str = "location index") -> Iterator[Any]:
        """A cursor on the shared connection, held under its lock; the driver's
        errors leave as DatabaseUnavailable naming `store`."""
        with self._reader_lock, translated(store, self._driver_error):
            if self._unit_depth and self._reader is None:
                # The unit's connection was lost, and its transaction with it.
                raise DatabaseUnavailable(f"{store} unavailable: the transaction was lost")
            try:
                if self._reader is None:
                    reader = self._engine.raw_connection()
                    _autocommit(reader.driver_connection)
                    self._reader = reader
                cursor = self._reader.cursor()
                try:
                    yield cursor
                finally:
                    cursor.close()
            except Exception as exc:
                # A refused row leaves the connection usable; anything else may not.
                if self._reader is not None and not isinstance(exc, self._integrity_error):
                    self._reader.invalidate()
                    self._reader = None
                raise


def _autocommit(dbapi_conn: Any) -> None:
    """Each read sees the latest commit and holds no transaction open."""
    if isinstance(dbapi_conn, sqlite3.Connection):
        dbapi_conn.isolation_level = None
    else:  # psycopg and other DB-API drivers with an autocommit switch
        dbapi_conn.autocommit = True


def _location(row: Any) -> Location:
    uuid, child, cell_path, host, project, state, request_id, pending, name, created, group = row
    return Location(uuid, child, cell_path, host, project, state, request_id,
                    bool(pending), name, float(created), group)


def _from_row(row: Any) -> Location:
    return _location(tuple(getattr(row, c.strip()) for c in _COLUMNS.split(",")))


def location_of(instance: Instance, child: str) -> Location:
    """The finished row for `instance`, reached through `child`."""
    created = instance.created_at.timestamp() if instance.created_at else time.time()
    return Location(instance.uuid, child, instance.cell_path, instance.host, instance.project,
                    instance.state.value, instance.request_id or None, pending=False,
                    name=instance.name, created_at=created)
