"""Host aggregates: a name, the tree's hosts (by name) and metadata, of which
the key "availability_zone" is the aggregate's zone, as Nova keeps it."""

from __future__ import annotations

import time
import uuid as uuidlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from api.db import tables
from celldb.errors import DatabaseUnavailable
from celldb.store import transaction

a, h, m = tables.aggregates, tables.aggregate_hosts, tables.aggregate_metadata
ZONE_KEY = "availability_zone"


@dataclass(frozen=True, slots=True)
class Aggregate:
    id: int
    uuid: str
    name: str
    created_at: float
    updated_at: float | None
    hosts: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def zone(self) -> str | None:
        return self.metadata.get(ZONE_KEY)


class AggregateNotFound(Exception):
    """No aggregate has that id."""


class AggregateNameExists(Exception):
    """Another aggregate has that name."""


class AggregateHostExists(Exception):
    """The host is in the aggregate already."""


class AggregateHostNotFound(Exception):
    """The host is not in the aggregate."""


class AggregateNotEmpty(Exception):
    """The aggregate still has hosts."""


class AggregateStore:
    """The aggregates tables. Every method may raise DatabaseUnavailable; the
    ones naming an aggregate AggregateNotFound."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str, zone: str | None) -> Aggregate:
        """A new aggregate; AggregateNameExists for a name taken."""
        with _names_unique(name), transaction(self.engine, "aggregates") as conn:
            ident = conn.execute(insert(a).values(
                uuid=str(uuidlib.uuid4()), name=name, created_at=time.time(),
                updated_at=None)).inserted_primary_key
            aggregate_id = int(ident[0]) if ident else 0
            if zone is not None:
                conn.execute(insert(m).values(aggregate_id=aggregate_id, key=ZONE_KEY,
                                              value=zone))
            return _get(conn, aggregate_id)

    def all(self) -> list[Aggregate]:
        with transaction(self.engine, "aggregates") as conn:
            ids = conn.execute(select(a.c.id).order_by(a.c.id)).scalars().all()
            return [_get(conn, ident) for ident in ids]

    def get(self, ident: int) -> Aggregate:
        with transaction(self.engine, "aggregates") as conn:
            return _get(conn, ident)

    def update(self, ident: int, name: str | None, zone: str | None,
               set_zone: bool) -> Aggregate:
        """Rename it and/or (`set_zone`) set its zone (None: none)."""
        with _names_unique(name or ""), transaction(self.engine, "aggregates") as conn:
            _get(conn, ident)
            values: dict[str, object] = {"updated_at": time.time()}
            if name is not None:
                values["name"] = name
            conn.execute(update(a).where(a.c.id == ident).values(values))
            if set_zone:
                _set_metadata(conn, ident, {ZONE_KEY: zone})
            return _get(conn, ident)

    def delete(self, ident: int) -> None:
        """AggregateNotEmpty while it has hosts."""
        with transaction(self.engine, "aggregates") as conn:
            if _get(conn, ident).hosts:
                raise AggregateNotEmpty(str(ident))
            conn.execute(delete(m).where(m.c.aggregate_id == ident))
            conn.execute(delete(a).where(a.c.id == ident))

    def add_host(self, ident: int, host: str) -> Aggregate:
        """AggregateHostExists when it is there already."""
        with transaction(self.engine, "aggregates") as conn:
            if host in _get(conn, ident).hosts:
                raise AggregateHostExists(host)
            conn.execute(insert(h).values(aggregate_id=ident, host=host))
            return _touch(conn, ident)

    def remove_host(self, ident: int, host: str) -> Aggregate:
        """AggregateHostNotFound when it is not there."""
        with transaction(self.engine, "aggregates") as conn:
            _get(conn, ident)
            gone = conn.execute(delete(h).where(h.c.aggregate_id == ident, h.c.host == host))
            if not gone.rowcount:
                raise AggregateHostNotFound(host)
            return _touch(conn, ident)

    def set_metadata(self, ident: int, values: Mapping[str, str | None]) -> Aggregate:
        """Set each key to its value; a None value removes the key."""
        with transaction(self.engine, "aggregates") as conn:
            _get(conn, ident)
            _set_metadata(conn, ident, values)
            return _touch(conn, ident)


@contextmanager
def _names_unique(name: str) -> Iterator[None]:
    """Turn the unique name's refusal into AggregateNameExists."""
    try:
        yield
    except DatabaseUnavailable as exc:
        if isinstance(exc.__cause__, IntegrityError):
            raise AggregateNameExists(name) from None
        raise


def _get(conn: Connection, ident: int) -> Aggregate:
    row = conn.execute(select(a).where(a.c.id == ident)).first()
    if row is None:
        raise AggregateNotFound(str(ident))
    hosts = conn.execute(select(h.c.host).where(h.c.aggregate_id == ident)
                         .order_by(h.c.host)).scalars().all()
    meta = {r.key: r.value for r in conn.execute(select(m).where(m.c.aggregate_id == ident))}
    return Aggregate(row.id, row.uuid, row.name, row.created_at, row.updated_at,
                     tuple(hosts), meta)


def _touch(conn: Connection, ident: int) -> Aggregate:
    conn.execute(update(a).where(a.c.id == ident).values(updated_at=time.time()))
    return _get(conn, ident)


def _set_metadata(conn: Connection, ident: int, values: Mapping[str, str | None]) -> None:
    for key, value in values.items():
        conn.execute(delete(m).where(m.c.aggregate_id == ident, m.c.key == key))
        if value is not None:
            conn.execute(insert(m).values(aggregate_id=ident, key=key, value=value))
