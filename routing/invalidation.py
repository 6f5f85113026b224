"""Caches kept honest across processes that share one PostgreSQL index.

Replicas of a cell share its database, and each caches locations. Every
change of a row is announced by the database itself (a trigger, `celldb.schema`
step 4: NOTIFY on `cellrouter_<schema>` with the uuid); `Invalidations`
listens on a connection of its own, in a thread, and drops each announced
uuid from the cache, unless this process made the change itself (its own
connections' server pids are known), so a replica's own writes keep their
cached rows.

What remains: the time from another replica's commit to the eviction here (the
notification's way through PostgreSQL, and this thread's wake-up; a few
milliseconds, measured by tests/bench/bench_index.py). While the listening
connection is down, nothing is announced: on reconnecting the whole cache is
dropped. Behind both stays the index's own healing: a child that answers
NOT_FOUND for a uuid it was sent has the row evicted and looked for again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)
RECONNECT_AFTER = 1.0  # seconds between attempts to listen again
STOP_CHECK = 0.1  # seconds the listener waits for news before it checks whether to stop


class OwnConnections:
    """The server pids of an engine's connections: what this process writes with."""

    def __init__(self, engine: Engine) -> None:
        self.pids: set[int] = set()
        event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_conn: Any, _record: Any) -> None:
        self.pids.add(int(dbapi_conn.info.backend_pid))


class Invalidations:
    """A thread that evicts, through `evict(uuid)` and `evict_all()`, what other
    processes change in the database of `engine` (PostgreSQL only)."""

    def __init__(self, engine: Engine, own: OwnConnections, evict: Callable[[str], None],
                 evict_all: Callable[[], None]) -> None:
        self._engine = engine
        self._own = own
        self._evict = evict
        self._evict_all = evict_all
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cellrouter-invalidations",
                                        daemon=True)
        self._thread.start()

    def wait_listening(self, timeout: float) -> bool:
        """True once the listening connection is up (for tests and start-up)."""
        return self._listening.wait(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as exc:  # the connection, or the server, went away
                self._listening.clear()
                log.warning("not hearing of other processes' index changes: %s", exc)
                self._stop.wait(RECONNECT_AFTER)

    def _listen(self) -> None:
        raw = self._engine.raw_connection()
        try:
            conn = raw.driver_connection
            assert conn is not None
            conn.autocommit = True
            schema = conn.execute("SELECT current_schema()").fetchone()[0]
            conn.execute(f'LISTEN "cellrouter_{schema}"')
            self._evict_all()  # whatever changed while nobody listened
            self._listening.set()
            while not self._stop.is_set():
                for note in conn.notifies(timeout=STOP_CHECK):
                    if note.pid not in self._own.pids:
                        self._evict(note.payload)
        finally:
            raw.invalidate()  # never back into the pool: it is LISTENing

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
