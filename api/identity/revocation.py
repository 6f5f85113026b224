"""Revoked tokens: those ended before they expire (DELETE /identity/v3/auth/tokens).

A token says by itself who it is (api.identity.tokens), so ending one early
takes a list that every API process consults: `TokenIssuer.verify` asks
`is_revoked` of every token it would accept. A token is named by its audit
id, as Keystone's revocation events name it; the list keeps it until the
token would have expired (then it is refused anyway) and forgets it after.

    Revocations          the contract: revoke, is_revoked
    MemoryRevocations    one process's list: the issuer's default, and a fake
    DatabaseRevocations  the API database's `revoked_tokens` table, which every
                         API process sharing that database sees

`DatabaseRevocations` re-reads the table at most once every `refresh` seconds
(REFRESH, 1 s, by default), whatever the number of requests, and answers from
memory in between. So a process refuses a token it revoked itself at once, and
one that another process revoked within `refresh` seconds of the revocation's
commit. When a read fails, every check fails (DatabaseUnavailable: the request
is refused, as Keystone refuses to validate without its revocation list)
until a read succeeds; a read is tried again at most once every `refresh`
seconds, so a database that is down costs no more than one that is up.
Reads and writes run on the calling thread, as the API's other stores' do:
one short query per process per `refresh`, and one transaction per revocation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine, delete, select

from api.db import tables
from celldb.errors import DatabaseUnavailable
from celldb.store import transaction, upsert

REFRESH = 1.0  # seconds: how stale a process's copy of the table may be
_WHAT = "token revocations"

r = tables.revoked_tokens


class Revocations(Protocol):
    """The tokens ended before their expiry, by audit id. Thread-safe."""

    def revoke(self, audit_id: str, expires_at: datetime) -> None:
        """Refuse the token with `audit_id` from now on; it expires at
        `expires_at` anyway, and is forgotten after. Idempotent. May raise
        DatabaseUnavailable (then nothing is revoked)."""
        ...

    def is_revoked(self, audit_id: str) -> bool:
        """Whether the token with `audit_id` was revoked (and has not expired).
        Cheap: no I/O most of the time. May raise DatabaseUnavailable."""
        ...


class MemoryRevocations:
    """Revocations this process alone knows of, forgotten when it stops;
    `clock` is seconds since the epoch (tests pass a fake)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}  # audit id -> expiry
        self._lock = threading.Lock()

    def revoke(self, audit_id: str, expires_at: datetime) -> None:
        now = self._clock()
        with self._lock:
            self._until = {a: t for a, t in self._until.items() if t > now}
            self._until[audit_id] = expires_at.timestamp()

    def is_revoked(self, audit_id: str) -> bool:
        with self._lock:
            return audit_id in self._until


class DatabaseRevocations:
    """Revocations in the API database's `revoked_tokens`, read at most once every
    `refresh` seconds by `clock` (seconds since the epoch; tests pass a fake)."""

    def __init__(self, engine: Engine, refresh: float = REFRESH,
                 clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self.refresh = refresh
        self._clock = clock
        self._lock = threading.Lock()
        self._revoked: frozenset[str] = frozenset()
        self._read_at: float | None = None  # None: never read
        self._failure = ""  # why the last read failed; "" when it did not

    def revoke(self, audit_id: str, expires_at: datetime) -> None:
        """Store the revocation (and drop those of expired tokens, in the same
        transaction); this process refuses the token at once."""
        now = self._clock()
        row = {"audit_id": audit_id, "expires_at": expires_at.timestamp(), "revoked_at": now}
        with transaction(self._engine, _WHAT) as conn:
            upsert(conn, r, "audit_id", row)
            conn.execute(delete(r).where(r.c.expires_at <= now))
        with self._lock:
            self._revoked = self._revoked | {audit_id}

    def is_revoked(self, audit_id: str) -> bool:
        with self._lock:
            now = self._clock()
            # A clock that went back also re-reads: staleness is then unknown.
            if self._read_at is None or not 0.0 <= now - self._read_at < self.refresh:
                self._read(now)
            if self._failure:
                raise DatabaseUnavailable(self._failure)
            return audit_id in self._revoked

    def _read(self, now: float) -> None:
        """Replace the copy with the table's unexpired rows (under the lock)."""
        self._read_at = now
        try:
            with transaction(self._engine, _WHAT) as conn:
                found = conn.execute(select(r.c.audit_id).where(r.c.expires_at > now))
                self._revoked = frozenset(found.scalars())
        except DatabaseUnavailable as exc:
            self._failure = exc.message
        else:
            self._failure = ""
