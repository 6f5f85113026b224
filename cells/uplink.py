"""A child's link to its parent: register, then report.

Reports go every `report_interval`, or sooner when an instance changed, but
at most one per REPORT_WINDOW: a burst of changes goes up in one report, and
state reaches the top within moments. The uplink never gives up: while the
parent is unreachable it keeps trying, holding the instance changes it could
not deliver. Its backoff starts at FIRST_BACKOFF (a parent still starting is
retried at once, not a whole interval later) and doubles up to two report
intervals, so a restarted parent hears from every child before it would mark
one down (after `down_after` >= 3 missed intervals).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

from cells.backend import CellBackend
from cellwire.client import AsyncCellClient
from model.cells import CellCapacity, ChildReport, Registration
from model.errors import CellError

log = logging.getLogger(__name__)
GATHER = 0.01  # seconds to collect more changes once one has come
# At most one report per window (seconds), however many changes happen: each
# report carries every change since the last, so the parent learns of a
# change within one window.
REPORT_WINDOW = 0.2
FIRST_BACKOFF = 0.05  # seconds before the first retry of a failed register or report


class Uplink:
    def __init__(self, backend: CellBackend, parent: AsyncCellClient, interval: float,
                 remember: Callable[[str], None] | None = None,
                 window: float = REPORT_WINDOW) -> None:
        """`parent` is the link to the parent (`cells.links`); `remember(path)` is
        called whenever the parent tells this cell its path."""
        self._backend = backend
        self._remember = remember or (lambda _path: None)
        self._parent = parent
        self._interval = interval
        self._window = window
        self.registered = asyncio.Event()
        self._refreshing: asyncio.Task[None] | None = None

    async def run(self) -> None:
        first = min(FIRST_BACKOFF, self._interval)
        backoff = first
        while True:
            try:
                if not self.registered.is_set():
                    await self._register()
                sent = time.monotonic()
                await self._report()
                backoff = first
                # Report again after the interval, or sooner when something
                # changed, but no sooner than one window after the last report
                # began: however many changes come, they go up together.
                await self._backend.changes().wait(self._interval)
                window = min(self._window, self._interval)
                await asyncio.sleep(max(GATHER, sent + window - time.monotonic()))
            except CellError as exc:
                log.warning("parent %s: %s", self._parent.address, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._interval * 2)

    async def _refresh(self) -> None:
        """Bring the cell's figures up to date, waiting at most one interval.

        A hypervisor busy with a slow operation (destroying a QEMU guest takes
        seconds) must not silence the heartbeat: past the interval, the report
        goes with the figures last known, and the refresh finishes meanwhile.
        """
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(self._backend.refresh())
        # asyncio.timeout, not wait_for: on Python 3.11, wait_for returns the
        # result of a shielded task that finished as the uplink was cancelled,
        # and the cancellation is lost.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._interval):
                await asyncio.shield(self._refreshing)

    async def _register(self) -> None:
        me = self._backend.identity
        await self._backend.refresh()
        reg = Registration(me.name, me.address, me.kind, self._backend.capabilities())
        path, _interval = await self._parent.register(reg, timeout=self._interval * 2)
        log.info("registered with %s as %s", self._parent.address, path)
        self._learn(path)
        self.registered.set()

    async def _report(self) -> None:
        await self._refresh()
        taken_at = self._backend.changes().added
        changes = self._backend.changes().take()
        me = self._backend.identity
        report = ChildReport(me.name, self._backend.capacity(), tuple(changes),
                             self._backend.leaves(), me.address)
        try:
            register_again, path = await self._parent.report(report, timeout=self._interval * 2)
        except CellError:
            self._backend.changes().put_back(changes, taken_at)
            raise
        if register_again:
            self._backend.changes().put_back(changes, taken_at)
            self.registered.clear()
        elif path and path != self._backend.identity.path:
            log.info("now known as %s", path)
            self._learn(path)

    def _learn(self, path: str) -> None:
        if path != self._backend.identity.path:
            self._backend.identity.path = path
            self._remember(path)

    async def close(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            self._refreshing.cancel()
            await asyncio.gather(self._refreshing, return_exceptions=True)
        await self._parent.close()


async def stand_by(parents: Sequence[AsyncCellClient], name: str, address: str,
                   interval: float) -> None:
    """Tell each of `parents`, every `interval`, that a standby process of the
    cell `name` waits at `address`, until cancelled (when it takes over and
    registers). The parents show it in their topology and do not route to it."""
    report = ChildReport(name, CellCapacity(), address=address, standby=True)

    async def tell(parent: AsyncCellClient) -> None:
        try:
            await parent.report(report, timeout=interval)
        except CellError as exc:  # the active process may not have registered yet
            log.debug("parent %s: standby report: %s", parent.address, exc)

    while True:
        await asyncio.gather(*(tell(p) for p in parents))
        await asyncio.sleep(interval)
