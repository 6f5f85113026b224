"""A leaf cell: places instances on its hosts and acts on them through a driver.

The driver is the truth about instances; the leaf's location index records
uuid -> host and request id -> uuid so that retried boots are idempotent.
`LeafCell` answers a cell's calls (cells.backend.CellBackend) by handing
each to the part that holds its concern; it wires them, drops an instance
that is gone from all of them at once, and makes each report:

    cells.leaf_driver     calling the driver (on the loop, or in a thread)
    cells.leaf_placement  the hosts as the selector sees them, one decision at a time
    cells.leaf_boot       boots, their plans, and the boots a crash cut short
    cells.leaf_act        routed actions and rebuild
    cells.leaf_once       an action applied once per request id
    cells.leaf_shelve     shelve, offload, unshelve
    cells.leaf_instances  an instance as the leaf shows it: reads, and edits of
                          what users set on it (cells.attributes)
    cells.leaf_events     what the leaf reports of its instances, kept in step
                          with the hypervisor (announced changes, reconciliation)
    cells.leaf_notify     what the leaf tells outside (notify/)
    cells.leaf_report     its hosts, capacity and capabilities, as reported up
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from bestmatch.api import Selector
from cells.attributes import InstanceAttributes
from cells.backend import ChangeLog, Identity, own_node
from cells.hosts import HostPolicy
from cells.instance_actions import InstanceActions
from cells.leaf_act import LeafActing
from cells.leaf_boot import LeafBoots
from cells.leaf_driver import DriverRunner
from cells.leaf_events import LeafEvents
from cells.leaf_instances import LeafInstances
from cells.leaf_notify import LeafNotices
from cells.leaf_placement import LeafPlacement
from cells.leaf_report import LeafReports
from cells.leaf_shelve import LeafShelving
from cells.ledger import HostLedger
from cells.outcomes import ActionOutcomes
from model.call import Call
from model.catalog import Catalog
from model.cells import (
    CellCapacity,
    CellNode,
    InstancePage,
    LeafInfo,
    ListQuery,
    Located,
    Placement,
)
from model.compute import Action, BootSpec, Instance, Resources
from model.edits import Edit
from model.instance_actions import ActionLog
from notify.outbox import Outbox
from routing.index import LocationIndex
from routing.validate import check_uuid
from virt.driver import VirtDriver


class LeafCell:
    def __init__(self, identity: Identity, driver: VirtDriver, index: LocationIndex,
                 selector: Selector, policies: Mapping[str, HostPolicy] | None = None,
                 flavors: Mapping[str, Resources] | None = None, sync_every: float = 1.0,
                 outcomes: ActionOutcomes | None = None, catalog: Catalog | None = None,
                 outbox: Outbox | None = None) -> None:
        self.identity = identity
        # What this leaf's image and network names stand for (model.catalog).
        catalog = catalog or Catalog()
        self._driver = driver
        self._index = index
        self._changes = ChangeLog()
        self._background: set[asyncio.Task[None]] = set()  # awaited as the leaf closes
        # Deleted while still being built: deleted as soon as the build ends.
        doomed: set[str] = set()
        self._ledger = HostLedger.load(index.placements())  # read once, then kept current
        self._run = DriverRunner(driver.capabilities.blocking)
        # The agents that report here and take objects, by "KIND/" and
        # "KIND/CAPABILITY" (agents.registry), for the capability reports.
        self.agents_offered: Callable[[], tuple[tuple[str, int], ...]] = tuple
        # Events told outside (notify/), each in the transaction of its change;
        # nothing without an outbox (notifications off).
        self._notices = LeafNotices(index, outbox, self._path)
        self._events = LeafEvents(identity, driver, self._run, index, self._changes,
                                  self._forget_vanished, self._background, sync_every)
        self._events.on_found = self._notices.found
        # Names, descriptions, metadata, tags, locks users set (cells.attributes).
        self._attributes = InstanceAttributes(index)
        self._actions = InstanceActions(index)  # what was done to each (Nova's actions)
        self._placement = LeafPlacement(self._path, driver, self._run, selector, policies,
                                        self._ledger)
        self._reports = LeafReports(identity, driver, self._run, flavors)
        self._instances = LeafInstances(self._path, driver, self._run, index,
                                        self._attributes, self._actions, self._forget)
        shelving = LeafShelving(lambda: identity.path, identity.driver, driver, self._run,
                                index, self._ledger, self._placement.select,
                                self._placement.hosts_changed, self._placement.placing)
        self._acting = LeafActing(identity, catalog, driver, self._run, self._instances,
                                  shelving, self._notices, self._events, self._attributes,
                                  self._actions, outcomes, doomed, self._background,
                                  self._forget)
        self._boots = LeafBoots(self._path, catalog, driver, self._run, index, self._ledger,
                                self._placement, self._instances, self._notices, self._events,
                                self._attributes, self._actions, doomed, self._forget,
                                self._acting.apply)

    @property
    def _applying(self) -> asyncio.Task[None] | None:
        """The task applying the changes the driver announced, while there is one."""
        return self._events.applying

    # ------------------------------------------------------------ calls

    async def recover(self) -> None:
        """At start: load what users set on the instances, and settle the
        boots a crash cut short (cells.leaf_boot)."""
        self._attributes.load()
        await self._boots.recover()

    async def boot(self, spec: BootSpec, call: Call) -> Instance:
        return await self._boots.boot(spec, call)

    async def plan(self, spec: BootSpec, call: Call) -> Placement:
        return await self._boots.plan(spec, call)

    async def act(self, uuid: str, action: Action, wait: bool, call: Call,
                  host: str = "") -> Instance:
        """Apply `action`, once per request id (cells.leaf_act, cells.outcomes).
        `host`: where an unshelve goes (cells.leaf_shelve)."""
        return await self._acting.act(uuid, action, wait, call, host)

    async def rebuild(self, uuid: str, image: str, call: Call) -> Instance:
        """The instance's disk built again from `image` (cells.leaf_act)."""
        return await self._acting.rebuild(uuid, image, call)

    async def update(self, uuid: str, edit: Edit, call: Call) -> Instance:
        """Apply `edit` to what users set on the instance (cells.leaf_instances)."""
        return await self._instances.update(uuid, edit, call)

    async def actions(self, uuid: str, request_id: str, call: Call) -> ActionLog:
        """What was done to the instance (cells.instance_actions), also for a
        while after it was deleted; UnknownInstance when this leaf knows nothing of it."""
        uuid = check_uuid(uuid)
        return await self._actions.log(uuid, request_id, lambda: self.owner(uuid, call))

    async def get(self, uuid: str, call: Call) -> Instance:
        return await self._instances.get(uuid, call)

    async def list(self, query: ListQuery, call: Call) -> InstancePage:
        return await self._instances.list(query, call)

    async def locate(self, uuid: str, call: Call) -> Located:
        return await self._instances.locate(uuid, call)

    async def owner(self, uuid: str, call: Call) -> str:
        return await self._instances.owner(uuid, call)

    async def topology(self, call: Call) -> CellNode:
        await self.refresh()
        return own_node(self, hosts=self._reports.hosts())

    # ------------------------------------------------------- reporting

    def capacity(self) -> CellCapacity:
        return self._reports.capacity(self._events.reported, self.agents_offered)

    def capabilities(self) -> tuple[str, ...]:
        return self._reports.capabilities()

    def changes(self) -> ChangeLog:
        return self._changes

    def leaves(self) -> tuple[LeafInfo, ...]:
        return self._reports.leaves()

    async def refresh(self) -> None:
        """Before each report: host capacity, and, every `sync_every`, the
        hypervisor's truth about every instance, so changes made behind
        cellrouter's back travel up even when nothing announced them."""
        hosts = await self._reports.read_hosts()
        self._notices.hosts(hosts)
        self._placement.read(hosts)  # the next decision starts from these hosts
        await self._events.sync_when_due()
        self._acting.prune_when_due()
        self._actions.prune_when_due()

    async def close(self) -> None:
        for task in list(self._background):
            await asyncio.gather(task, return_exceptions=True)
        await self._run(self._driver.close)

    # ---------------------------------------------------------- helpers

    def _path(self) -> str:
        return self.identity.path

    def _forget(self, uuid: str) -> None:
        """`uuid` is gone from here: every part of the leaf drops it."""
        self._placement.hosts_changed()  # room was freed
        self._events.expected.pop(uuid, None)
        self._index.forget(uuid)
        self._ledger.remove(uuid)
        self._attributes.drop(uuid)
        self._actions.deleted(uuid)  # kept a while: Nova shows a deleted server's actions

    def _forget_vanished(self, uuid: str) -> None:
        """The hypervisor no longer has `uuid` (reconciliation found it so)."""
        with self._notices.vanished(uuid):
            self._forget(uuid)
