"""A leaf cell: places instances on its hosts and acts on them through a driver.

The driver is the truth about instances; the leaf's location index records
uuid -> host and request id -> uuid so that retried boots are idempotent.
What the leaf reports of its instances, and how it keeps that in step with
the hypervisor (announced changes, reconciliation), is cells.leaf_events.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid as uuidlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from bestmatch.api import HostState, RequestSpec, Selection, Selector
from bestmatch.table import HostTable
from cells.attributes import InstanceAttributes
from cells.backend import ChangeLog, Identity, own_node
from cells.hosts import HostPolicy, host_state
from cells.instance_actions import InstanceActions
from cells.leaf_events import LeafEvents
from cells.leaf_notify import LeafNotices
from cells.leaf_once import RememberedActions
from cells.leaf_shelve import LeafShelving
from cells.ledger import HostLedger
from cells.outcomes import ActionOutcomes
from model.call import Call
from model.catalog import Catalog
from model.cells import (
    CellCapacity,
    CellNode,
    HostSummary,
    InstancePage,
    LeafInfo,
    ListQuery,
    Located,
    Placement,
    PlacementOption,
)
from model.compute import (
    Action,
    BootSpec,
    HostInfo,
    Instance,
    InstanceState,
    Resources,
)
from model.edits import Edit, apply
from model.edits import check as check_edit
from model.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    ResourceExhausted,
)
from model.instance_actions import CREATE, REBUILD, ActionLog, action_name, edit_action
from model.states import SHELVING, check, next_state
from network.naming import bridge_name
from notify.outbox import Outbox
from routing.errors import UnknownInstance
from routing.index import Location, LocationIndex
from routing.paging import page_of
from routing.path import CellPath
from routing.validate import check_boot, check_uuid
from virt import errors as virt_errors
from virt.driver import Rebuilder, VirtDriver

log = logging.getLogger(__name__)
R = TypeVar("R")


class LeafCell:
    def __init__(self, identity: Identity, driver: VirtDriver, index: LocationIndex,
                 selector: Selector, policies: Mapping[str, HostPolicy] | None = None,
                 flavors: Mapping[str, Resources] | None = None, sync_every: float = 1.0,
                 outcomes: ActionOutcomes | None = None, catalog: Catalog | None = None,
                 outbox: Outbox | None = None) -> None:
        self.identity = identity
        # What this leaf's image and network names stand for (model.catalog).
        self._catalog = catalog or Catalog()
        self._flavors = dict(flavors or {})  # counted in capacity reports
        self._policies = dict(policies or {})
        self._driver = driver
        self._index = index
        self._selector = selector
        self._changes = ChangeLog()
        self._hosts: list[HostInfo] = []
        self._background: set[asyncio.Task[None]] = set()
        # Actions remembered by request id (None: every action is applied as sent).
        self._remembered = None if outcomes is None else RememberedActions(
            outcomes, self._act_once, self.get, lambda: self.identity.path)
        # Deleted while still being built: deleted as soon as the build ends.
        self._doomed: set[str] = set()
        self._placing = asyncio.Lock()
        self._table: HostTable | None = None  # the hosts as the last decision left them
        # Hosts a report has just read, for the next decision, so it need not
        # ask the driver again; None once a decision has used them.
        self._unread_hosts: list[HostInfo] | None = None
        self._ledger = HostLedger.load(index.placements())  # read once, then kept current
        # A driver that only computes (the fake one) is called on the event
        # loop; one that waits on a hypervisor gets a worker thread per call.
        self._blocking = driver.capabilities.blocking
        # The agents that report here and take objects, by "KIND/" and
        # "KIND/CAPABILITY" (agents.registry), for the capability reports.
        self.agents_offered: Callable[[], tuple[tuple[str, int], ...]] = tuple
        # Events told outside (notify/), each in the transaction of its change;
        # nothing without an outbox (notifications off).
        self._notices = LeafNotices(index, outbox, lambda: self.identity.path)
        self._events = LeafEvents(identity, driver, self._run, index, self._changes,
                                  self._forget_vanished, self._background, sync_every)
        self._events.on_found = self._notices.found
        # Names, descriptions, metadata, tags, locks users set (cells.attributes).
        self._attributes = InstanceAttributes(index)
        self._actions = InstanceActions(index)  # what was done to each (Nova's actions)
        self._editing = asyncio.Lock()  # one edit at a time: each reads the last one's
        self._shelving = LeafShelving(lambda: identity.path, identity.driver, driver, self._run,
                                      index, self._ledger, self._select, self._hosts_changed,
                                      self._placing)

    @property
    def _applying(self) -> asyncio.Task[None] | None:
        """The task applying the changes the driver announced, while there is one."""
        return self._events.applying

    # -------------------------------------------------------- recovery

    async def recover(self) -> None:
        """At start: settle the boots a crash cut short. A pending row whose
        instance the hypervisor has is completed; one it does not have is
        rolled back, so that a retry with the same request id builds it
        (instead of waiting forever for a boot nobody is running)."""
        self._attributes.load()
        for row in self._index.pending():
            try:
                instance = await self._run(self._driver.get, row.uuid)
            except virt_errors.InstanceNotFound:
                with self._notices.together():
                    self._forget(row.uuid)
                    self._notices.boot_lost(row)
                self._actions.drop(row.uuid, row.request_id or "")  # a retry begins it anew
                log.info("boot of %s (request %s) was cut short: rolled back", row.uuid,
                         row.request_id)
                continue
            with self._notices.together():
                self._index.set_state(row.uuid, instance.state.value, self.identity.path,
                                      instance.host)
                self._notices.boot_ended(instance)
            self._ledger.place(row.uuid, instance.host, row.server_group)
            self._actions.finish(row.uuid, row.request_id or "", None, instance.host)
            self._events.note(instance)
            log.info("boot of %s (request %s) was cut short after the build: completed",
                     row.uuid, row.request_id)

    # ------------------------------------------------------------ boot

    async def boot(self, spec: BootSpec, call: Call) -> Instance:
        check_boot(spec)
        spec = self._catalog.resolve(spec, bridge_name)
        earlier = self._index.by_request_id(spec.request_id)
        if earlier is not None:
            if earlier.pending:
                raise Aborted(f"a boot with request id {spec.request_id} is still in"
                              f" progress in {self.identity.path}; retry shortly")
            return await self.get(earlier.uuid, call)
        if not spec.uuid:  # this leaf is the first cell the boot reached
            spec = replace(spec, uuid=str(uuidlib.uuid4()))
        if self._index.lookup(spec.uuid) is not None:
            raise AlreadyExists(f"instance uuid {spec.uuid} is already in use")
        group = dict(spec.hints).get("group", "")
        async with self._placing:  # one decision at a time: each sees the last one's claim
            selection = await self._select(spec)
            chosen = selection.ordered[0].name
            with self._notices.together():  # the pending row and its create.start
                self._index.record(
                    Location(spec.uuid, "", self.identity.path, chosen, spec.project,
                             InstanceState.BUILDING.value, spec.request_id, pending=True,
                             name=spec.name, created_at=time.time(), server_group=group)
                )
                self._notices.boot_started(spec, chosen)
            self._ledger.place(spec.uuid, chosen, group)
            self._claimed(chosen, spec.flavor)  # the next decision sees this one's claim
            self._attributes.put(spec.uuid, None, spec.attributes)
            self._actions.begin(spec.uuid, spec.request_id, CREATE, spec.project, chosen)
        try:
            instance = await self._spawn_first(spec, [c.name for c in selection.ordered])
        except BaseException:
            self._actions.drop(spec.uuid, spec.request_id)  # not here: neither is its log
            self._doomed.discard(spec.uuid)
            self._hosts_changed()  # the claim did not happen
            raise
        self._actions.finish(spec.uuid, spec.request_id, None, instance.host)
        with self._notices.together():
            self._index.set_state(spec.uuid, instance.state.value, self.identity.path,
                                  instance.host)
            self._notices.boot_ended(instance, spec)
        self._ledger.place(spec.uuid, instance.host, group)  # an alternate host, maybe
        if instance.host != chosen:
            self._hosts_changed()
        if spec.uuid in self._doomed:
            self._doomed.discard(spec.uuid)
            return await self._apply(spec.uuid, Action.DELETE)
        return self._here(self._events.note(instance))

    async def plan(self, spec: BootSpec, call: Call) -> Placement:
        check_boot(spec)
        self._catalog.resolve(spec)  # refused here as a boot would be
        selection = await self._select(spec)
        return Placement(
            tuple(PlacementOption(self.identity.path, h.name) for h in selection.ordered),
            (f"{self.identity.path}: {selection.explain('hosts')}",),
        )

    async def _select(self, spec: BootSpec) -> Selection:
        """The hosts that can take `spec`, best first; ResourceExhausted if none."""
        if spec.target_cell and not CellPath.parse(spec.target_cell).contains(
            CellPath.parse(self.identity.path)
        ):
            raise InvalidArgument(
                f"target cell {spec.target_cell} is not inside leaf {self.identity.path}"
            )
        request = RequestSpec.of(spec)
        selection = self._selector.select(await self._candidates(), request)
        if not selection.ordered:
            raise ResourceExhausted(
                f"no host in {self.identity.path} can take {spec.flavor}:"
                f" {selection.explain('hosts')}"
            )
        return selection

    async def _candidates(self) -> HostTable:
        """Every host as the selector sees it: size, use, and the operator's policy.
        Read from the driver at the first decision after each report, then kept
        current by this leaf's own claims (the driver's claim stays the judge)."""
        if self._table is None:
            hosts = self._unread_hosts
            if hosts is None:
                hosts = await self._run(self._driver.hosts)
            self._unread_hosts = None
            self._table = HostTable(self._state_of(h) for h in hosts)
        return self._table

    def _state_of(self, h: HostInfo) -> HostState:
        policy = self._policies.get(h.name) or HostPolicy()
        return host_state(h, self.identity.path, policy, self._ledger)

    def _hosts_changed(self) -> None:
        """What is known of the hosts is out of date: the next decision asks the driver."""
        self._table = self._unread_hosts = None

    def _claimed(self, host: str, flavor: Resources) -> None:
        if self._table is not None:
            self._table.place(host, flavor, self._ledger.on(host), self._ledger.uuids_on(host))

    async def _spawn_first(self, spec: BootSpec, hosts: list[str]) -> Instance:
        """Claim on each host in turn; a host that filled up since selection is skipped."""
        for host in hosts:
            try:
                # The driver sees the leaf's own path as the target (it records it).
                placed = replace(spec, target_cell=self.identity.path)
                self._events.expected[spec.uuid] = InstanceState.ACTIVE  # popped by note
                return await self._run(self._driver.spawn, placed, host)
            except virt_errors.NoCapacity:
                log.info("host %s filled up before %s could claim it", host, spec.uuid)
            except BaseException as exc:
                self._give_up(spec, str(exc) or type(exc).__name__)
                raise
        self._give_up(spec, "every host that fit filled up before the claim")
        raise ResourceExhausted(
            f"every host in {self.identity.path} that fit {spec.flavor} filled up"
            f" before the claim ({len(hosts)} tried)"
        )

    # ---------------------------------------------------------- actions

    async def act(self, uuid: str, action: Action, wait: bool, call: Call,
                  host: str = "") -> Instance:
        """Apply `action`, once per request id (cells.outcomes): the same
        request sent again is answered as the first was, nothing applied twice.
        `host`: where an unshelve goes (cells.leaf_shelve)."""
        uuid = check_uuid(uuid)  # one spelling: lookups compare uuids as written
        self._notices.acting(call.request_id)
        if action not in self._driver.capabilities.actions:
            raise self._info().refuse(action)
        attributes = self._attributes.of(uuid)[1]
        if call.obey_lock and attributes.locked:  # a member's call (cells.security.scope)
            raise FailedPrecondition(f"Instance {uuid} is locked")
        if action is not Action.DELETE and attributes.reset_to_error:
            check(uuid, InstanceState.ERROR, action)  # refused: only a delete applies
        if host and action is not Action.UNSHELVE:
            raise InvalidArgument(f"{action.value} takes no host; only unshelve does")
        if self._remembered is None:
            return await self._act_once(uuid, action, wait, call, host)
        return await self._remembered.act(uuid, action, wait, call, host)

    async def _act_once(self, uuid: str, action: Action, wait: bool, call: Call,
                        host: str = "") -> Instance:
        name = action_name(action)
        if action in SHELVING:
            self._shelving.shelver()  # refused before anything is recorded
        if host:
            await self._shelving.check_host(await self.get(uuid, call), host)
        if wait:
            project, where = await self._whose(uuid, call)
            return await self._actions.track(uuid, call.request_id, name, project, where,
                                             lambda: self._apply(uuid, action, host))
        # A cast: refuse what the driver would refuse, then answer at once.
        current = await self.get(uuid, call)
        check(uuid, current.state, action)
        began = self._actions.begin(uuid, call.request_id, name, current.project, current.host)
        task = asyncio.create_task(self._apply_logged(
            uuid, action, call.request_id if began else "", current.host, host))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return current

    async def _apply(self, uuid: str, action: Action, host: str = "") -> Instance:
        before = self._events.reported.get(uuid)
        target = next_state(before, action) if before is not None else None
        if target is not None:
            self._events.expected[uuid] = target
        try:
            return await self._act_on_driver(uuid, action, host)
        finally:
            self._events.expected.pop(uuid, None)

    async def _act_on_driver(self, uuid: str, action: Action, host: str = "") -> Instance:
        began = time.time()
        try:
            result = await (self._shelving.apply(uuid, action, host) if action in SHELVING
                            else self._run(self._driver.act, uuid, action))
        except virt_errors.InstanceNotFound:
            building = self._building(uuid)
            if building is None:
                raise UnknownInstance(uuid) from None
            check(uuid, building.state, action)  # only a delete, while it is being built
            self._doomed.add(uuid)
            return replace(building, state=InstanceState.DELETED)
        with self._notices.acted(action, result, began):
            if result.state is InstanceState.DELETED:
                self._forget(uuid)
        # The driver holds the state; the leaf's index only maps uuid -> host.
        return self._here(self._events.note(result))

    async def _apply_logged(self, uuid: str, action: Action, request_id: str,
                            host: str, target: str = "") -> None:
        try:
            await self._actions.settle(uuid, request_id, host,
                                       lambda: self._apply(uuid, action, target))
        except Exception:
            log.exception("%s of %s failed after it was accepted", action.value, uuid)

    async def rebuild(self, uuid: str, image: str, call: Call) -> Instance:
        """The instance's disk built again from `image` (a name this leaf's
        catalog has), on its host, by a driver that can (virt.driver.Rebuilder)."""
        uuid = check_uuid(uuid)
        if not isinstance(self._driver, Rebuilder):
            raise FailedPrecondition(f"the driver of {self.identity.path}"
                                     f" ({self.identity.driver}) cannot rebuild an instance")
        source = self._catalog.resolve(BootSpec(uuid, "", "", Resources(), image=image))
        project, host = await self._whose(uuid, call)
        driver: Rebuilder = self._driver

        async def rebuilt() -> Instance:
            try:
                return await self._run(driver.rebuild, uuid, image, source.image_source)
            except virt_errors.InstanceNotFound:
                raise UnknownInstance(uuid) from None

        done = await self._actions.track(uuid, call.request_id, REBUILD, project, host, rebuilt)
        return self._here(self._events.note(done))

    async def update(self, uuid: str, edit: Edit, call: Call) -> Instance:
        """Apply `edit` to what users set on the instance (cells.attributes);
        the guest is not touched. UnknownInstance when it is not here."""
        edit = check_edit(edit)
        async with self._editing:
            current = await self._found(check_uuid(uuid))
            given, attributes = self._attributes.of(current.uuid)
            name, attributes = apply(given or current.name, attributes, edit)
            self._attributes.put(current.uuid, given if edit.name is None else name, attributes)
        if acted := edit_action(edit.locked, edit.reset_to_error):
            self._actions.record(current.uuid, call.request_id, acted, current.project)
        return self._here(current)

    async def actions(self, uuid: str, request_id: str, call: Call) -> ActionLog:
        """What was done to the instance (cells.instance_actions), also for a
        while after it was deleted; UnknownInstance when this leaf knows nothing of it."""
        uuid = check_uuid(uuid)
        return await self._actions.log(uuid, request_id, lambda: self.owner(uuid, call))

    async def _whose(self, uuid: str, call: Call) -> tuple[str, str]:
        """The project and host of an instance here (UnknownInstance if none)."""
        row = self._index.lookup(uuid)
        found = row or await self.get(uuid, call)
        return found.project, found.host

    # ------------------------------------------------------------ reads

    async def get(self, uuid: str, call: Call) -> Instance:
        return self._here(await self._found(check_uuid(uuid)))

    async def _found(self, uuid: str) -> Instance:
        """The instance as its hypervisor has it (BUILDING while a boot of it is
        under way here); UnknownInstance when it is not here."""
        try:
            return await self._run(self._driver.get, uuid)
        except virt_errors.InstanceNotFound:
            building = self._building(uuid)
            if building is None:
                raise UnknownInstance(uuid) from None
            return building

    def _building(self, uuid: str) -> Instance | None:
        """The hypervisor has no such instance: BUILDING if a boot of it is under
        way here; otherwise None, and a stale row of ours is dropped."""
        row = self._index.lookup(uuid)
        if row is None:
            return None
        if not row.pending:
            self._forget(uuid)
            return None
        return Instance(uuid, row.name, InstanceState.BUILDING, Resources(),
                        cell_path=self.identity.path, project=row.project,
                        request_id=row.request_id or "")

    async def list(self, query: ListQuery, call: Call) -> InstancePage:
        instances = await self._run(self._driver.instances)
        page, token = page_of((self._here(i) for i in instances), query)
        return InstancePage(tuple(page), token)

    async def locate(self, uuid: str, call: Call) -> Located:
        instance = await self.get(uuid, call)
        return Located(uuid, self.identity.path, instance.host, instance.project)

    async def owner(self, uuid: str, call: Call) -> str:
        """The project of `uuid`: from the index row a boot here wrote, else
        (an adopted instance) from the driver."""
        uuid = check_uuid(uuid)
        row = self._index.lookup(uuid)
        if row is not None:
            return row.project
        return (await self.get(uuid, call)).project

    async def topology(self, call: Call) -> CellNode:
        await self.refresh()
        hosts = tuple(HostSummary(h.name, CellCapacity.of_host(h, self._flavors))
                      for h in self._hosts)
        return own_node(self, hosts=hosts)

    # ------------------------------------------------------- reporting

    def capacity(self) -> CellCapacity:
        hosts = CellCapacity.combine(CellCapacity.of_host(h, self._flavors) for h in self._hosts)
        states = Counter(state.value for state in self._events.reported.values())
        return replace(hosts, states=tuple(sorted(states.items())), agents=self.agents_offered())

    def capabilities(self) -> tuple[str, ...]:
        return tuple(self._driver.capabilities.names())

    def changes(self) -> ChangeLog:
        return self._changes

    def leaves(self) -> tuple[LeafInfo, ...]:
        return (replace(self._info(), path=""),)  # relative: this cell itself

    def _info(self) -> LeafInfo:
        caps = self._driver.capabilities
        return LeafInfo(self.identity.path, self.identity.address, tuple(caps.names()),
                        caps.refusals(), self.identity.driver)

    async def refresh(self) -> None:
        """Before each report: host capacity, and, every `sync_every`, the
        hypervisor's truth about every instance, so changes made behind
        cellrouter's back travel up even when nothing announced them."""
        self._hosts = await self._run(self._driver.hosts)
        self._notices.hosts(self._hosts)
        self._table = None  # the next decision starts from these hosts
        self._unread_hosts = self._hosts
        await self._events.sync_when_due()
        if self._remembered is not None:
            self._remembered.prune_when_due()
        self._actions.prune_when_due()

    async def close(self) -> None:
        for task in list(self._background):
            await asyncio.gather(task, return_exceptions=True)
        await self._run(self._driver.close)

    # ---------------------------------------------------------- helpers

    def _forget(self, uuid: str) -> None:
        self._hosts_changed()  # room was freed
        self._events.expected.pop(uuid, None)
        self._index.forget(uuid)
        self._ledger.remove(uuid)
        self._attributes.drop(uuid)
        self._actions.deleted(uuid)  # kept a while: Nova shows a deleted server's actions

    def _give_up(self, spec: BootSpec, reason: str) -> None:
        """A boot failed here: its row goes, with its instance.create.error."""
        with self._notices.together():
            self._forget(spec.uuid)
            self._notices.boot_failed(spec, reason)

    def _forget_vanished(self, uuid: str) -> None:
        """The hypervisor no longer has `uuid` (reconciliation found it so)."""
        with self._notices.vanished(uuid):
            self._forget(uuid)

    def _here(self, instance: Instance) -> Instance:
        """`instance` as this leaf shows it: its path, and what users set on it."""
        given, attributes = self._attributes.of(instance.uuid)
        shown = replace(instance, cell_path=self.identity.path, name=given or instance.name,
                        attributes=attributes)
        if attributes.reset_to_error:
            return replace(shown, state=InstanceState.ERROR,
                           fault="set to ERROR by an administrator")
        return shown

    async def _run(self, fn: Callable[..., R], *args: Any) -> R:
        """Call the driver: in a worker thread when it blocks, else right here."""
        if not self._blocking:
            return fn(*args)
        return await asyncio.to_thread(fn, *args)
