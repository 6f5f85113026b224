"""Who is the active process of a leaf cell that runs with a standby.

A leaf owns a hypervisor connection and the claims made on it, so only one
process may act for it at a time: active/passive, not active-active. Both
processes are configured alike (`active_lock = true`, one PostgreSQL
`database_url`); the one that holds the database's session advisory lock for
the cell is active. The other waits for the lock, polling, and takes over as
soon as the first process's session ends (its process died, or its machine
lost the database): it then starts as a restarted leaf does, settling the
boots left pending, and registers with its parent, which learns its address.

Fencing: the active process checks its lock's session every `CHECK_EVERY`
seconds; if it has lost it, the other may have taken over, so it stops at
once (`on_lost`, which the cell server makes a hard exit) rather than act
beside the new active process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from celldb.engine import engine_for

log = logging.getLogger(__name__)
POLL_EVERY = 0.5  # seconds between a standby's attempts to take the lock
CHECK_EVERY = 1.0  # seconds between the active process's checks of its lock


class ActiveLock:
    """The right to act for the cell `name`, held as a PostgreSQL advisory lock
    on a connection of its own."""

    def __init__(self, url: str, name: str, on_lost: Callable[[], None]) -> None:
        self._engine: Engine = engine_for(url, pool_size=1)
        self._name = name
        self._on_lost = on_lost
        self._conn: Any = None
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    async def acquire(self) -> None:
        """Return once this process holds the lock (at once when nobody else does)."""
        waited = False
        while not await asyncio.to_thread(self._try):
            if not waited:
                log.info("cell %s: another process is active; standing by", self._name)
                waited = True
            await asyncio.sleep(POLL_EVERY)
        log.info("cell %s: active%s", self._name, " (took over)" if waited else "")
        self._watch = threading.Thread(target=self._check, name="cellrouter-active-lock",
                                       daemon=True)
        self._watch.start()

    def _try(self) -> bool:
        if self._conn is None:
            raw = self._engine.raw_connection()
            self._conn = raw.driver_connection
            self._conn.autocommit = True
        row = self._conn.execute(
            "SELECT pg_try_advisory_lock(hashtext('cellrouter:' || current_schema() || ':'"
            " || %s))", (self._name,)).fetchone()
        return bool(row[0])

    def _check(self) -> None:
        while not self._stop.wait(CHECK_EVERY):
            try:
                self._conn.execute("SELECT 1")
            except Exception as exc:
                if self._stop.is_set():
                    return
                log.error("cell %s: lost the database session holding the active lock"
                          " (%s); stopping, as another process may act for the cell now",
                          self._name, exc)
                self._on_lost()
                return

    def release(self) -> None:
        self._stop.set()
        if self._conn is not None:
            try:
                self._conn.close()  # the session ends, and the lock with it
            except Exception as exc:
                log.warning("cell %s: closing the active lock's connection: %s",
                            self._name, exc)
        self._engine.dispose()
