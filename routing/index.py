"""The location index: instance uuid -> where it lives below this cell.

Every cell keeps one in its own database. A router cell records the child it
sent an instance to; a leaf records the host. Rows are written before a boot
is forwarded (marked pending), so a request racing the boot finds them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from routing.db import locations, open_database, upsert
from routing.errors import Conflict, IndexUnavailable


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


class LocationIndex:
    """Persistent uuid -> Location map. Safe to share between threads."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    @classmethod
    def open(cls, url: str) -> LocationIndex:
        return cls(open_database(url))

    def record(self, loc: Location) -> None:
        """Insert or replace the row for `loc.uuid`.

        Raises Conflict when another uuid holds `loc.request_id`.
        """
        values = {
            "uuid": loc.uuid,
            "request_id": loc.request_id,
            "child": loc.child,
            "cell_path": loc.cell_path,
            "host": loc.host,
            "project": loc.project,
            "state": loc.state,
            "pending": loc.pending,
            "updated_at": time.time(),
        }
        try:
            with self._begin() as conn:
                upsert(conn, locations, "uuid", values)
        except IndexUnavailable as exc:
            if isinstance(exc.__cause__, IntegrityError):
                # Only request_id can collide: another boot with the same key
                # recorded its own uuid a moment ago.
                raise Conflict(
                    f"a boot with request id {loc.request_id} is already in progress"
                ) from exc
            raise

    def lookup(self, uuid: str) -> Location | None:
        with self._begin() as conn:
            row = conn.execute(select(locations).where(locations.c.uuid == uuid)).first()
        return _location(row) if row else None

    def by_request_id(self, request_id: str) -> Location | None:
        with self._begin() as conn:
            row = conn.execute(
                select(locations).where(locations.c.request_id == request_id)
            ).first()
        return _location(row) if row else None

    def set_state(self, uuid: str, state: str, cell_path: str = "", host: str = "") -> None:
        """Update a known row's state (and where it landed, when given)."""
        self.apply([(uuid, state, cell_path, host)])

    def apply(self, changes: Iterable[tuple[str, str, str, str]]) -> None:
        """Apply (uuid, state, cell_path, host) changes in one transaction.

        State "DELETED" removes the row; unknown uuids are skipped.
        """
        now = time.time()
        with self._begin() as conn:
            for uuid, state, cell_path, host in changes:
                if state == "DELETED":
                    conn.execute(delete(locations).where(locations.c.uuid == uuid))
                    continue
                values: dict[str, Any] = {"state": state, "pending": False, "updated_at": now}
                if cell_path:
                    values["cell_path"] = cell_path
                if host:
                    values["host"] = host
                conn.execute(locations.update().where(locations.c.uuid == uuid).values(**values))

    def forget(self, uuid: str) -> None:
        with self._begin() as conn:
            conn.execute(delete(locations).where(locations.c.uuid == uuid))

    def count(self) -> int:
        with self._begin() as conn:
            return int(conn.execute(select(func.count()).select_from(locations)).scalar() or 0)

    def count_by_child(self) -> dict[str, int]:
        with self._begin() as conn:
            rows = conn.execute(
                select(locations.c.child, func.count()).group_by(locations.c.child)
            ).all()
        return {child: int(n) for child, n in rows}

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """A transaction; SQLAlchemy's errors leave as IndexUnavailable."""
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise IndexUnavailable(f"location index unavailable: {exc}") from exc


def _location(row: Any) -> Location:
    return Location(
        uuid=row.uuid,
        child=row.child,
        cell_path=row.cell_path,
        host=row.host,
        project=row.project,
        state=row.state,
        request_id=row.request_id,
        pending=row.pending,
    )
