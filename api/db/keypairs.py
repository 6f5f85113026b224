"""Keypairs, per user, and which keypair each server was booted with."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, RowMapping, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from api.db import tables
from api.db.locks import lock_scope
from celldb.errors import DatabaseUnavailable
from celldb.store import transaction

t = tables.keypairs


@dataclass(frozen=True, slots=True)
class Keypair:
    id: int
    user_id: str
    name: str
    type: str
    fingerprint: str
    public_key: str
    created_at: float


class KeypairExists(Exception):
    """A keypair of that name is the user's already."""


class KeypairQuotaExceeded(Exception):
    """The user has as many keypairs as their quota allows."""


class KeypairStore:
    """The keypairs table. Every method may raise DatabaseUnavailable."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, user_id: str, name: str, kind: str, fingerprint: str, public_key: str,
            limit: int) -> Keypair:
        """Store a keypair; KeypairExists for a name the user has,
        KeypairQuotaExceeded when the user has `limit` already (-1: no limit).
        The count and the insert are one transaction under the user's lock."""
        now = time.time()
        row = {"user_id": user_id, "name": name, "type": kind, "fingerprint": fingerprint,
               "public_key": public_key, "created_at": now}
        try:
            with transaction(self.engine, "keypairs") as conn:
                lock_scope(conn, f"user:{user_id}")
                if limit >= 0 and _count(conn, user_id) >= limit:
                    raise KeypairQuotaExceeded(user_id)
                ident = conn.execute(insert(t).values(row)).inserted_primary_key
        except DatabaseUnavailable as exc:  # the unique (user, name) refused it
            if isinstance(exc.__cause__, IntegrityError):
                raise KeypairExists(name) from None
            raise
        return Keypair(int(ident[0]) if ident else 0, user_id, name, kind, fingerprint,
                       public_key, now)

    def count(self, user_id: str) -> int:
        with transaction(self.engine, "keypairs") as conn:
            return _count(conn, user_id)


    def get(self, user_id: str, name: str) -> Keypair | None:
        with transaction(self.engine, "keypairs") as conn:
            row = conn.execute(select(t).where(t.c.user_id == user_id, t.c.name == name)).first()
        return _keypair(row._mapping) if row else None

    def page(self, user_id: str, limit: int | None = None, marker: str = "") -> list[Keypair]:
        """The user's keypairs by name, after `marker` (a name), at most `limit`."""
        query = select(t).where(t.c.user_id == user_id).order_by(t.c.name)
        if marker:
            query = query.where(t.c.name > marker)
        if limit is not None:
            query = query.limit(limit)
        with transaction(self.engine, "keypairs") as conn:
            return [_keypair(r._mapping) for r in conn.execute(query)]

    def remove(self, user_id: str, name: str) -> bool:
        """Delete a keypair; whether there was one."""
        with transaction(self.engine, "keypairs") as conn:
            done = conn.execute(delete(t).where(t.c.user_id == user_id, t.c.name == name))
        return bool(done.rowcount)


def _count(conn: Connection, user_id: str) -> int:
    return int(conn.execute(select(func.count()).select_from(t)
                            .where(t.c.user_id == user_id)).scalar() or 0)


def _keypair(row: RowMapping) -> Keypair:
    return Keypair(**{k: row[k] for k in Keypair.__slots__})


class ServerKeys:
    """The keypair (by name) each server was booted with, by server uuid, for
    servers booted before instances kept their key name with them at their
    leaf (`model.compute.Attributes.key_name`): what a server body shows as
    `key_name` when its instance's is None. New servers get no row here."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def remember(self, uuid: str, key_name: str, user_id: str) -> None:
        """A row as servers booted before got one (the API no longer writes any)."""
        with transaction(self.engine, "server keys") as conn:
            conn.execute(delete(tables.server_keys).where(tables.server_keys.c.uuid == uuid))
            conn.execute(insert(tables.server_keys).values(
                uuid=uuid, key_name=key_name, user_id=user_id))

    def key_names(self, uuids: Sequence[str]) -> dict[str, str]:
        """The key name of each of `uuids` booted with one."""
        s = tables.server_keys
        with transaction(self.engine, "server keys") as conn:
            rows = conn.execute(select(s.c.uuid, s.c.key_name).where(s.c.uuid.in_(uuids)))
            return {r.uuid: r.key_name for r in rows}
