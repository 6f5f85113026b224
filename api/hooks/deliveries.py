"""The deliveries outbox: one row per event per matching subscription.

    record      the dispatcher writes an event's rows in one transaction, then
                acks the message; the unique (subscription, message_id) turns
                a redelivered message into no new row
    claim       a deliverer takes the due head of each subscriber's queue (its
                lowest pending id), with up to `run` rows after it, and leases
                them for `lease` seconds: the next delivery of that subscriber
                is not a head until these are delivered or dead, so each
                subscriber gets its events in order (the deliverer POSTs a
                run one after the other)
    delivered   the receiver answered 2xx (`delivered_all`: a run's, at once)
    release     the rest of a run its deliverer did not try (after a failure)
    failed      it did not: tried again after an exponential wait, dead after
                [hooks] max_attempts (dead rows stay listed, and stop blocking)

Several API processes share the table. On PostgreSQL the claim locks the
rows it reads (FOR UPDATE SKIP LOCKED: two claims never take one row, and
never wait for each other); on SQLite the claim is an IMMEDIATE transaction,
so claims run one at a time. An outcome is written only by the lease's
holder (the lease's end is its token), so a deliverer that outlived its
lease cannot overwrite another's outcome. A process that dies holding a
lease leaves the row to be claimed again when the lease ends: at least once,
and receivers dedupe on the body's message_id.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from api.db import tables
from api.hooks.settings import HookSettings
from api.hooks.subscriptions import subscriptions_in
from celldb.errors import translated

d = tables.hook_deliveries
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
_STORE = "web hook deliveries"
MAX_ERROR = 500  # characters of a failure kept


@dataclass(frozen=True, slots=True)
class HookEvent:
    """An event as the dispatcher took it off the bus."""

    message_id: str
    event_type: str
    project: str  # the payload's tenant_id; "" for the tree's own events
    body: bytes  # what every subscriber is POSTed


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased to one deliverer until `lease_until`."""

    id: int
    subscription_id: str
    url: str
    secret: str
    event_type: str
    body: bytes
    attempts: int  # tries before this one
    lease_until: float


@dataclass(frozen=True, slots=True)
class Delivery:
    """A row as the list of deliveries shows it."""

    id: int
    subscription_id: str
    message_id: str
    event_type: str
    state: str
    attempts: int
    next_at: float
    last_error: str
    created_at: float
    updated_at: float


class DeliveryStore:
    """The hook_deliveries table. Every method may raise DatabaseUnavailable."""

    def __init__(self, engine: Engine, settings: HookSettings) -> None:
        self.engine = engine
        self.settings = settings

    def record(self, event: HookEvent, now: float | None = None) -> int:
        """Write a row for each subscription `event` matches (none twice);
        how many were new."""
        return self.record_all([event], now)

    def record_all(self, events: Sequence[HookEvent], now: float | None = None) -> int:
        """`record` for several events in one transaction, in their order."""
        now = time.time() if now is None else now
        with self._locked() as conn:
            subscriptions = subscriptions_in(conn)
            rows = [{"subscription_id": s.id, "message_id": event.message_id,
                     "event_type": event.event_type, "body": event.body.decode(),
                     "state": PENDING, "attempts": 0, "next_at": now, "created_at": now,
                     "updated_at": now}
                    for event in events for s in subscriptions
                    if s.matches(event.event_type, event.project)]
            if not rows:
                return 0
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            new = 0
            for row in rows:  # one by one: the ids keep the events' order
                done = conn.execute(dialect.insert(d).on_conflict_do_nothing(
                    index_elements=["subscription_id", "message_id"]).returning(d.c.id), row)
                new += len(done.all())
            return new

    def claim(self, limit: int, lease: float, now: float | None = None,
              run: int = 1) -> list[Claimed]:
        """Lease the due heads of up to `limit` subscribers' queues, oldest
        first, each with up to `run` - 1 pending rows after it (in id order)."""
        now = time.time() if now is None else now
        e = d.alias("e")
        head = (select(func.min(e.c.id))
                .where(e.c.subscription_id == d.c.subscription_id, e.c.state == PENDING)
                .scalar_subquery())
        query = (select(d.c.id, d.c.subscription_id, d.c.event_type, d.c.body, d.c.attempts)
                 .where(d.c.state == PENDING, d.c.next_at <= now, d.c.id == head,
                        or_(d.c.lease_until.is_(None), d.c.lease_until < now))
                 .order_by(d.c.id).limit(limit))
        until = now + lease
        if not self._due(now):  # a read first: no write lock taken for nothing
            return []
        with self._locked() as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=d)
            rows = list(conn.execute(query))
            if not rows:
                return []
            if run > 1:
                rows = [row for head in rows for row in self._run_of(conn, head, run, now)]
            conn.execute(update(d).where(d.c.id.in_([r.id for r in rows]))
                         .values(lease_until=until))
            subs = {s.id: s for s in subscriptions_in(conn)}
        return [Claimed(r.id, r.subscription_id, subs[r.subscription_id].url,
                        subs[r.subscription_id].secret, r.event_type, r.body.encode(), r.attempts,
                        until)
                for r in rows if r.subscription_id in subs]

    @staticmethod
    def _run_of(conn: Connection, head: Any, run: int, now: float) -> list[Any]:
        """`head` and the pending rows of its subscriber after it, up to `run`,
        stopping before any not yet due or leased (only a head can be either,
        unless a run was cut short: then the rest waits for the next claim)."""
        after = conn.execute(
            select(d.c.id, d.c.subscription_id, d.c.event_type, d.c.body, d.c.attempts,
                   d.c.next_at, d.c.lease_until)
            .where(d.c.subscription_id == head.subscription_id, d.c.state == PENDING,
                   d.c.id > head.id)
            .order_by(d.c.id).limit(run - 1))
        rows = [head]
        for row in after:
            if row.next_at > now or (row.lease_until is not None and row.lease_until >= now):
                break
            rows.append(row)
        return rows

    def _due(self, now: float) -> bool:
        with self._locked(write=False) as conn:
            return conn.execute(select(d.c.id).where(
                d.c.state == PENDING, d.c.next_at <= now).limit(1)).first() is not None

    def delivered(self, claimed: Claimed, now: float | None = None) -> bool:
        """Mark it delivered; False if the lease was lost (another holds it)."""
        now = time.time() if now is None else now
        return self._finish(claimed, state=DELIVERED, attempts=claimed.attempts + 1,
                            lease_until=None, last_error=None, updated_at=now)

    def delivered_all(self, claimed: Sequence[Claimed], now: float | None = None) -> int:
        """`delivered` for several in one transaction; how many were still leased."""
        now = time.time() if now is None else now
        if not claimed:
            return 0
        with self._locked() as conn:
            return sum(conn.execute(update(d).where(
                d.c.id == c.id, d.c.state == PENDING, d.c.lease_until == c.lease_until).values(
                state=DELIVERED, attempts=c.attempts + 1, lease_until=None, last_error=None,
                updated_at=now)).rowcount for c in claimed)

    def release(self, claimed: Sequence[Claimed]) -> None:
        """Give back leased rows that were not tried: claimable again at once."""
        if not claimed:
            return
        with self._locked() as conn:
            for c in claimed:
                conn.execute(update(d).where(
                    d.c.id == c.id, d.c.state == PENDING, d.c.lease_until == c.lease_until)
                    .values(lease_until=None))

    def failed(self, claimed: Claimed, error: str, now: float | None = None) -> str:
        """Record a failed try: pending again after the backoff, or dead after
        the last. The state it is left in ("" if the lease was lost)."""
        now = time.time() if now is None else now
        tries = claimed.attempts + 1
        dead = tries >= self.settings.max_attempts
        state = DEAD if dead else PENDING
        done = self._finish(claimed, state=state, attempts=tries, lease_until=None,
                            last_error=error[:MAX_ERROR], updated_at=now,
                            next_at=now if dead else now + self.settings.retry_after(tries))
        return state if done else ""

    def _finish(self, claimed: Claimed, **values: object) -> bool:
        with self._locked() as conn:
            done = conn.execute(update(d).where(
                d.c.id == claimed.id, d.c.state == PENDING,
                d.c.lease_until == claimed.lease_until).values(**values))
        return bool(done.rowcount)

    def page(self, subscription_ids: Sequence[str] | None = None, state: str = "",
             limit: int = 100) -> list[Delivery]:
        """The latest deliveries (newest first) of `subscription_ids` (None: every one)."""
        query = select(d).order_by(d.c.id.desc()).limit(limit)
        if subscription_ids is not None:
            query = query.where(d.c.subscription_id.in_(list(subscription_ids)))
        if state:
            query = query.where(d.c.state == state)
        with self._locked(write=False) as conn:
            return [Delivery(r.id, r.subscription_id, r.message_id, r.event_type, r.state,
                             r.attempts, r.next_at, r.last_error or "", r.created_at,
                             r.updated_at) for r in conn.execute(query)]

    def prune(self, now: float | None = None) -> int:
        """Delete delivered and dead rows older than [hooks] keep_finished."""
        before = (time.time() if now is None else now) - self.settings.keep_finished
        with self._locked() as conn:
            done = conn.execute(delete(d).where(d.c.state != PENDING, d.c.updated_at < before))
        return max(0, done.rowcount)

    @contextmanager
    def _locked(self, write: bool = True) -> Iterator[Connection]:
        """A transaction; on SQLite a writing one takes the write lock at its
        start (BEGIN IMMEDIATE), so a claim's read and lease are one step."""
        with translated(_STORE), self.engine.connect() as conn:
            if write and conn.dialect.name == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn
