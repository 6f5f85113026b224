"""Running a cell inside another Python program.

    from cells.config import from_mapping
    from cells.embed import EmbeddedCell
    from cellwire.client import CellClient

    with EmbeddedCell(from_mapping({...})) as cell:
        client = CellClient(cell.address)

The cell runs its asyncio loop in a background thread; `stop()` (or leaving
the `with` block) shuts it down cleanly.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from cells.config import CellConfig
from cells.server import CellServer
from cellwire import eventloop


class EmbeddedCell:
    def __init__(self, config: CellConfig) -> None:
        self.server = CellServer(config)
        self._loop = eventloop.new()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name=f"cell-{config.name}")
        self._started = False

    @property
    def address(self) -> str:
        return self.server.address

    def start(self, timeout: float = 30.0) -> str:
        """Start serving; with a parent configured, also wait until registered."""
        self._thread.start()
        self._started = True
        self._run(self.server.start(), timeout)
        self._run(self.server.registered(timeout), timeout)
        return self.address

    def stop(self, timeout: float = 10.0) -> None:
        if not self._started:
            return
        self._started = False
        try:
            self._run(self.server.stop(), timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
            self._loop.close()

    def __enter__(self) -> EmbeddedCell:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _run(self, coro: object, timeout: float) -> object:
        future: Future[object] = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        return future.result(timeout)
