"""A cell's outbox: the `notify_outbox` table of its database (celldb.schema's
v12 made it), where each event is written in the transaction of the change it
tells of, and whence the sender (notify.amqp) takes them in `id` order. A
leaf's tells of its instances, hosts and service objects; a router's of its
children found down or up.

    the change commits      its events commit with it (LocationIndex.unit, or
                            the change's own connection: `add_on`): a crash
                            can delay an event, never lose it, and a change
                            rolled back leaves no event
    the broker confirms     the row is deleted (`remove`); a crash between the
                            two sends it again: at least once, deduped by
                            consumers on message_id

The bound. While the bus is down the table grows, up to `bound` rows (the
[notifications] max_outbox). Beyond it a new event is refused: not written,
counted (`refused`, the metric cellrouter_notifications_refused_total) and
logged with its type and instance, while the change itself still commits.
Dropping the oldest instead would hide a loss in the middle of what consumers
then receive; refusing the change would make the bus a dependency of every
call; writing on without limit would let a long outage fill the leaf's disk.
So the tree keeps serving, what is kept is a gapless prefix in order, and what
is lost is counted where an operator looks.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Float, Integer, String, Table, Text, func, select

from celldb.errors import translated
from celldb.schema import metadata
from celldb.store import transaction
from notify.envelope import PUBLISHER, encode, message
from notify.events import Event
from routing.index import LocationIndex

log = logging.getLogger(__name__)

_STORE = "notification outbox"

# The table in its current shape (the statements below name its columns by
# hand: they run on the index's hot-path connection, inside its units).
notify_outbox = Table(
    "notify_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(36), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("uuid", String(36), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Pending:
    """A row waiting to be sent: its id, and the inner message as JSON text."""

    id: int
    message_id: str
    message: str


@dataclass(frozen=True, slots=True)
class OutboxStats:
    rows: int  # waiting, as last counted (plus those written since)
    bound: int
    written: int  # by this process
    refused: int  # beyond the bound, by this process


class Outbox:
    """The outbox of one cell. `add` and `add_on` run on the cell's event loop,
    inside the change's transaction when there is one; the rest is the sender's.
    `role`: the publisher_id's prefix (notify.envelope: a leaf's or a router's)."""

    def __init__(self, index: LocationIndex, publisher: Callable[[], str],
                 bound: int = 100_000, role: str = PUBLISHER) -> None:
        self._index = index
        self._publisher = publisher  # the cell's path, as it is now
        self._role = role
        self.bound = bound
        self._lock = threading.Lock()
        self._rows: int | None = None  # counted once, then kept up to date
        self._written = 0
        self._refused = 0
        self.on_added: Callable[[], None] = lambda: None  # the sender's wake-up
        m = index.mark
        self._insert_sql = ("INSERT INTO notify_outbox (message_id, event_type, uuid, message,"
                            f" created_at) VALUES ({m}, {m}, {m}, {m}, {m})")
        self._batch_sql = (f"SELECT id, message_id, message FROM notify_outbox ORDER BY id"
                           f" LIMIT {m}")

    def add(self, *events: Event) -> int:
        """Write `events` (in the caller's unit, if any); how many were kept.
        Those beyond the bound are refused (see the module's docstring).
        DatabaseUnavailable when the database fails (the unit rolls back)."""
        rows = self._admitted(events)
        for row in rows:
            self._index.statement(self._insert_sql, (
                row["message_id"], row["event_type"], row["uuid"], row["message"],
                row["created_at"]), _STORE)
        if rows:
            self._wrote(len(rows))
            self.on_added()
        return len(rows)

    def add_on(self, conn: Connection, *events: Event) -> int:
        """Write `events` on `conn`, inside the transaction of another store of
        this cell's database (agents.objects: a binding change): they commit or
        roll back with it. How many were kept (as `add`). The sender is woken
        once the caller's synchronous block (its commit) is over.
        DatabaseUnavailable when the database fails (the transaction rolls back)."""
        rows = self._admitted(events)
        if rows:
            with translated(_STORE):
                conn.execute(notify_outbox.insert(), rows)
            self._wrote(len(rows))
            _soon(self.on_added)
        return len(rows)

    def _admitted(self, events: tuple[Event, ...]) -> list[dict[str, Any]]:
        """The rows of the events within the bound; the others refused."""
        rows: list[dict[str, Any]] = []
        waiting = self._rows_now()
        for event in events:
            if waiting + len(rows) >= self.bound:
                self._refuse(event)
                continue
            inner = message(event, self._publisher(), role=self._role)
            rows.append({"message_id": inner["message_id"], "event_type": event.event_type,
                         "uuid": event.uuid, "message": encode(inner),
                         "created_at": event.at})
        return rows

    def _wrote(self, n: int) -> None:
        """`n` rows written (counted once their statements succeeded)."""
        with self._lock:
            self._rows = (self._rows or 0) + n
            self._written += n

    def batch(self, limit: int) -> list[Pending]:
        """The oldest `limit` rows waiting, oldest first."""
        rows = self._index.rows(self._batch_sql, (limit,), _STORE)
        return [Pending(int(i), mid, text) for i, mid, text in rows]

    def remove(self, ids: list[int]) -> None:
        """Forget rows the broker confirmed."""
        if not ids:
            return
        marks = ", ".join([self._index.mark] * len(ids))
        self._index.statement(f"DELETE FROM notify_outbox WHERE id IN ({marks})", tuple(ids),
                              _STORE)
        with self._lock:
            self._rows = max(0, (self._rows or 0) - len(ids))

    def count(self) -> int:
        """Count the rows waiting (and remember it for the bound)."""
        with transaction(self._index.engine, _STORE) as conn:
            rows = int(conn.execute(select(func.count()).select_from(notify_outbox)).scalar()
                       or 0)
        with self._lock:
            self._rows = rows
        return rows

    def stats(self) -> OutboxStats:
        with self._lock:
            return OutboxStats(self._rows or 0, self.bound, self._written, self._refused)

    def _rows_now(self) -> int:
        if self._rows is None:
            self.count()
        with self._lock:
            return self._rows or 0

    def _refuse(self, event: Event) -> None:
        with self._lock:
            self._refused += 1
        log.error("notification outbox full (%d rows): %s of %s not written", self.bound,
                  event.event_type, event.uuid or "-")


def _soon(wake: Callable[[], None]) -> None:
    """`wake` once the running callback is over (at once outside an event loop)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        wake()
        return
    loop.call_soon(wake)
