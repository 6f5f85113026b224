"""Revoked tokens: those ended before they expire, as Keystone's revocation events.

A token says by itself who it is (api.identity.tokens), so ending one early
takes a list that every API process consults: `TokenIssuer.verify` asks
`is_revoked` and `ended` of every token it would accept. An entry is a key,
the moment it was revoked, and when the tokens it matches expire anyway:
- an audit id: that one token (DELETE /identity/v3/auth/tokens);
- a subject (`user_subject`, `project_subject`, `grant_subject`): every token
  of a user, of a project, or of a user on a project, issued at or before the
  moment (Keystone's admin API deleting a user or a project, or taking a role
  back). A token issued later (a role given again) is not matched.
Subjects hold a colon, which no audit id does. The list keeps an entry until
the tokens it matches would have expired (then they are refused anyway) and
forgets it after.

    Revocations          the contract: revoke, is_revoked, end, ended
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

Who writes entries: the admin API (deleting a user or a project, taking a role
back, DELETE /auth/tokens) and `cellrouter users remove|disable|passwd` and
`cellrouter tokens revoke --user U`, which open the API database named by the
API config (`end_user`). So a token verifies only while its user is there,
enabled, holds the role on the project and has not changed password since it
was issued, on every API process within `refresh` seconds.

A directory (the LDAP backend) changes without cellrouter seeing it, so no
entry can be written for it: `StillHeld` asks the backend instead, on every
verify, from the backend's cache (at most its `cache_seconds` old), and on a
thread, never the event loop, when the cache lacks the answer.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine, delete, select

from api.db import tables
from api.identity.backends.base import Account
from api.identity.errors import Unauthorized
from api.identity.users import highest, implied
from celldb.errors import DatabaseUnavailable
from celldb.store import transaction, upsert

REFRESH = 1.0  # seconds: how stale a process's copy of the table may be
_WHAT = "token revocations"
_KEY_MAX = 64  # the table's key column

r = tables.revoked_tokens


def user_subject(user_id: str) -> str:
    """The key that matches every token of the user."""
    return _fit(f"user:{user_id}")


def project_subject(project_id: str) -> str:
    """The key that matches every token on the project."""
    return _fit(f"project:{project_id}")


def grant_subject(user_id: str, project_id: str) -> str:
    """The key that matches every token of the user on the project."""
    return _fit(f"grant:{user_id}:{project_id}")


def subjects_of(user_id: str, project_id: str) -> tuple[str, str, str]:
    """Every key that matches a token of `user_id` on `project_id`."""
    return (user_subject(user_id), project_subject(project_id),
            grant_subject(user_id, project_id))


class Holdings(Protocol):
    """What `StillHeld` asks of an identity backend: its account of a user, as
    api.identity.backends.loop.LoopBackend answers it without blocking the loop."""

    async def account(self, user_id: str) -> Account: ...


class StillHeld:
    """A token's check against the identity backend: Unauthorized unless its
    user is there, enabled, holds the token's role (or a higher one) on its
    project, and has not changed password since it was issued. As cheap as the
    backend's lookups; may raise what they raise (DirectoryUnavailable)."""

    def __init__(self, backend: Holdings) -> None:
        self._backend = backend

    async def check(self, user_id: str, project: str, role: str, issued_at: datetime) -> None:
        refuse_unless_held(await self._backend.account(user_id), project, role, issued_at)


def refuse_unless_held(account: Account, project: str, role: str,
                       issued_at: datetime) -> None:
    """Unauthorized unless `account` still holds a token with `role` on
    `project` issued at `issued_at` (StillHeld's rule)."""
    user = account.user
    if user is None or not user.enabled:
        raise Unauthorized("The token has been revoked: its user is gone or disabled")
    changed = account.password_changed
    if changed is not None and issued_at.timestamp() < changed:
        raise Unauthorized("The token has been revoked: its user's password changed")
    held = highest([g.role for g in account.grants if g.project_id == project])
    if role not in implied(held):
        raise Unauthorized("The token has been revoked: its user no longer holds"
                           f" the role {role} on the project")


def end_user(revocations: Revocations, user_id: str, ttl: float,
             clock: Callable[[], float] = time.time) -> None:
    """End every token of `user_id` issued until now (tokens live `ttl`
    seconds). May raise DatabaseUnavailable."""
    now = clock()
    revocations.end(user_subject(user_id), _utc(now), _utc(now + ttl))


class Revocations(Protocol):
    """The tokens ended before their expiry. Thread-safe."""

    def revoke(self, audit_id: str, expires_at: datetime) -> None:
        """Refuse the token with `audit_id` from now on; it expires at
        `expires_at` anyway, and is forgotten after. Idempotent. May raise
        DatabaseUnavailable (then nothing is revoked)."""
        ...

    def is_revoked(self, audit_id: str) -> bool:
        """Whether the token with `audit_id` was revoked (and has not expired).
        Cheap: no I/O most of the time. May raise DatabaseUnavailable."""
        ...

    def end(self, subject: str, issued_before: datetime, expires_at: datetime) -> None:
        """Refuse every token `subject` matches that was issued at or before
        `issued_before`; they expire by `expires_at`, and the entry is forgotten
        after. A later call for the subject replaces the earlier. May raise
        DatabaseUnavailable (then nothing is ended)."""
        ...

    def ended(self, subjects: Iterable[str], issued_at: datetime) -> bool:
        """Whether a token issued at `issued_at`, matched by `subjects`, was
        ended. Cheap, as is_revoked. May raise DatabaseUnavailable."""
        ...


class MemoryRevocations:
    """Revocations this process alone knows of, forgotten when it stops;
    `clock` is seconds since the epoch (tests pass a fake)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[float, float]] = {}  # key -> (revoked at, expiry)
        self._lock = threading.Lock()

    def revoke(self, audit_id: str, expires_at: datetime) -> None:
        self._add(audit_id, self._clock(), expires_at.timestamp())

    def is_revoked(self, audit_id: str) -> bool:
        with self._lock:
            return audit_id in self._entries

    def end(self, subject: str, issued_before: datetime, expires_at: datetime) -> None:
        self._add(subject, issued_before.timestamp(), expires_at.timestamp())

    def ended(self, subjects: Iterable[str], issued_at: datetime) -> bool:
        with self._lock:
            return _matches(self._entries, subjects, issued_at)

    def _add(self, key: str, revoked_at: float, expires_at: float) -> None:
        now = self._clock()
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
            self._entries[key] = (revoked_at, expires_at)


class DatabaseRevocations:
    """Revocations in the API database's `revoked_tokens`, read at most once every
    `refresh` seconds by `clock` (seconds since the epoch; tests pass a fake)."""

    def __init__(self, engine: Engine, refresh: float = REFRESH,
                 clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self.refresh = refresh
        self._clock = clock
        self._lock = threading.Lock()
        self._revoked: dict[str, float] = {}  # key -> revoked at
        self._read_at: float | None = None  # None: never read
        self._failure = ""  # why the last read failed; "" when it did not

    def revoke(self, audit_id: str, expires_at: datetime) -> None:
        """Store the revocation (and drop those of expired tokens, in the same
        transaction); this process refuses the token at once."""
        self._store(audit_id, self._clock(), expires_at.timestamp())

    def is_revoked(self, audit_id: str) -> bool:
        with self._lock:
            self._fresh()
            return audit_id in self._revoked

    def end(self, subject: str, issued_before: datetime, expires_at: datetime) -> None:
        """Store the entry, as `revoke` does; this process refuses the tokens at once."""
        self._store(subject, issued_before.timestamp(), expires_at.timestamp())

    def ended(self, subjects: Iterable[str], issued_at: datetime) -> bool:
        with self._lock:
            self._fresh()
            moment = issued_at.timestamp()
            return any(moment <= self._revoked.get(s, float("-inf")) for s in subjects)

    def _store(self, key: str, revoked_at: float, expires_at: float) -> None:
        now = self._clock()
        row = {"audit_id": key, "expires_at": expires_at, "revoked_at": revoked_at}
        with transaction(self._engine, _WHAT) as conn:
            upsert(conn, r, "audit_id", row)
            conn.execute(delete(r).where(r.c.expires_at <= now))
        with self._lock:
            self._revoked = self._revoked | {key: revoked_at}

    def _fresh(self) -> None:
        """Re-read when the copy is `refresh` old; DatabaseUnavailable while the
        last read failed (under the lock)."""
        now = self._clock()
        # A clock that went back also re-reads: staleness is then unknown.
        if self._read_at is None or not 0.0 <= now - self._read_at < self.refresh:
            self._read(now)
        if self._failure:
            raise DatabaseUnavailable(self._failure)

    def _read(self, now: float) -> None:
        """Replace the copy with the table's unexpired rows (under the lock)."""
        self._read_at = now
        try:
            with transaction(self._engine, _WHAT) as conn:
                found = conn.execute(select(r.c.audit_id, r.c.revoked_at)
                                     .where(r.c.expires_at > now))
                self._revoked = {row.audit_id: row.revoked_at for row in found}
        except DatabaseUnavailable as exc:
            self._failure = exc.message
        else:
            self._failure = ""


def _matches(entries: dict[str, tuple[float, float]], subjects: Iterable[str],
             issued_at: datetime) -> bool:
    moment = issued_at.timestamp()
    return any(s in entries and moment <= entries[s][0] for s in subjects)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _fit(subject: str) -> str:
    """`subject`, or a digest of it when it is longer than the key column."""
    if len(subject) <= _KEY_MAX:
        return subject
    return "sha256:" + hashlib.sha256(subject.encode()).hexdigest()[:_KEY_MAX - 7]
