"""A leaf's view of its instances as the hypervisor has them.

The leaf's calls (cells.leaf) act; this keeps what they and the hypervisor
did in step with what the parent hears: the state last reported up for each
instance, the state each of the leaf's own actions under way leads to (its
announcement is an echo, not news), the changes a driver announces (each
applied to the instance it names, O(1) per change), and the full
reconciliation with the hypervisor, which catches what nothing announced.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from cells.backend import ChangeLog, Identity
from model.cells import InstanceChange
from model.compute import Instance, InstanceState
from routing.index import LocationIndex
from virt import errors as virt_errors
from virt.driver import EventSource, VirtDriver

log = logging.getLogger(__name__)

# For a driver that announces changes, the full reconciliation runs once every
# this many report intervals; each announced change is applied as it comes.
EVENTS_FULL_SYNC = 10

DriverCall = Callable[..., Awaitable[Any]]  # the leaf's way of calling its driver


class LeafEvents:
    """What the leaf has told its parent of each instance, kept current with
    the hypervisor. Runs on the leaf's event loop."""

    def __init__(self, identity: Identity, driver: VirtDriver, run: DriverCall,
                 index: LocationIndex, changes: ChangeLog, forget: Callable[[str], None],
                 background: set[asyncio.Task[None]], sync_every: float) -> None:
        self._identity = identity
        self._driver = driver
        self._run = run
        self._index = index
        self._changes = changes
        self._forget = forget  # the leaf drops an instance that is gone
        self._background = background  # tasks the leaf awaits as it closes
        self.reported: dict[str, InstanceState] = {}  # the state last sent up, per instance
        # The state each action of this leaf's own, under way, leads to: the
        # hypervisor's announcement of it is an echo, not news.
        self.expected: dict[str, InstanceState] = {}
        self._announced: set[str] = set()
        # Told of each state reconciliation finds changed, unless an action of
        # the leaf's own is under way on it (the leaf's notices, cells.leaf_notify).
        self.on_found: Callable[[Instance], None] = lambda instance: None
        self.applying: asyncio.Task[None] | None = None
        # The full reconciliation with the hypervisor runs this often. A driver
        # that announces changes has each one applied to the instance it names,
        # so its full pass is only a safety net, run rarely.
        self._sync_every = sync_every
        self._last_sync = 0.0
        if isinstance(driver, EventSource):
            self._sync_every = sync_every * EVENTS_FULL_SYNC
            self._watch(driver)

    def _watch(self, driver: EventSource) -> None:
        loop = asyncio.get_running_loop()

        def announced(uuid: str, state: InstanceState | None) -> None:  # driver's thread
            loop.call_soon_threadsafe(self.on_announced, uuid, state)

        driver.watch(announced)

    def note(self, instance: Instance) -> Instance:
        """Queue the instance's change for the parent; returns it placed in this cell."""
        self.expected.pop(instance.uuid, None)
        here = replace(instance, cell_path=self._identity.path)
        if here.state is InstanceState.DELETED:
            self.reported.pop(here.uuid, None)
        else:
            self.reported[here.uuid] = here.state
        self._changes.note(here)
        return here

    def on_announced(self, uuid: str, state: InstanceState | None) -> None:
        """The hypervisor announced a change of `uuid`: unless it is the echo of
        what this leaf did or knows, look at that instance (and no other), and
        report what changed at once."""
        expected = self.expected.get(uuid)
        if state is not None and state in (expected, self.reported.get(uuid)):
            return  # an echo: the leaf noted, or is about to note, this very state
        if state is None and expected is not None:
            return  # news of an action of the leaf's own, under way
        self._announced.add(uuid)
        if self.applying is None or self.applying.done():
            self.applying = asyncio.create_task(self._apply_announced())
            self._background.add(self.applying)
            self.applying.add_done_callback(self._background.discard)

    async def _apply_announced(self) -> None:
        while self._announced:
            uuid = self._announced.pop()
            try:
                instance = await self._run(self._driver.get, uuid)
            except virt_errors.InstanceNotFound:
                self._vanished(uuid)
            except Exception:
                log.exception("reading announced instance %s failed", uuid)
            else:
                if self.reported.get(uuid) is not instance.state:
                    self._found(instance)
                    self.note(instance)

    async def sync_when_due(self) -> None:
        """The full reconciliation, when `sync_every` has passed since the last."""
        if time.monotonic() - self._last_sync >= self._sync_every:
            self._last_sync = time.monotonic()
            await self._sync()

    async def _sync(self) -> None:
        """Note every instance whose state differs from what was last reported,
        and every instance that vanished (deleted behind our back)."""
        now = {i.uuid: i for i in await self._run(self._driver.instances)}
        for uuid, instance in now.items():
            if self.reported.get(uuid) is not instance.state:
                self._found(instance)
                self.note(instance)
        for uuid in list(self.reported):
            if uuid not in now:
                self._vanished(uuid)

    def _found(self, instance: Instance) -> None:
        if instance.uuid not in self.expected:
            self.on_found(instance)

    def _vanished(self, uuid: str) -> None:
        """The hypervisor no longer has `uuid`: deleted behind our back, unless
        it is still being built (or was never ours)."""
        if uuid not in self.reported:
            return
        row = self._index.lookup(uuid)
        if row is not None and row.pending:
            return  # still being built
        del self.reported[uuid]
        self._forget(uuid)
        self._changes.add(InstanceChange(uuid, InstanceState.DELETED, self._identity.path))
        log.info("instance %s vanished from the hypervisor", uuid)
