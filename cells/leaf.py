"""A leaf cell: places instances on its hosts and acts on them through a driver.

The driver is the truth about instances; the leaf's location index records
uuid -> host and request id -> uuid so that retried boots are idempotent.
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
from cells.backend import ChangeLog, Identity, own_node
from cells.hosts import HostPolicy, host_state
from cells.ledger import HostLedger
from cells.outcomes import ActionOutcomes
from model.call import Call
from model.catalog import Catalog
from model.cells import (
    CellCapacity,
    CellNode,
    HostSummary,
    InstanceChange,
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
from model.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    ResourceExhausted,
)
from model.states import check, next_state, shows_applied
from routing.errors import UnknownInstance
from routing.index import Location, LocationIndex
from routing.paging import page_of
from routing.path import CellPath
from routing.validate import check_boot, check_uuid
from virt import errors as virt_errors
from virt.driver import EventSource, VirtDriver

log = logging.getLogger(__name__)
R = TypeVar("R")

# For a driver that announces changes, the full reconciliation runs once every
# this many report intervals; each announced change is applied as it comes.
EVENTS_FULL_SYNC = 10
PRUNE_EVERY = 60.0  # seconds between prunings of remembered request ids



class LeafCell:
    def __init__(
        self,
        identity: Identity,
        driver: VirtDriver,
        index: LocationIndex,
        selector: Selector,
        policies: Mapping[str, HostPolicy] | None = None,
        flavors: Mapping[str, Resources] | None = None,
        sync_every: float = 1.0,
        outcomes: ActionOutcomes | None = None,
        catalog: Catalog | None = None,
    ) -> None:
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
        # Actions remembered by request id (None: every action is applied as sent),
        # and those being applied now, by request id.
        self._outcomes = outcomes
        self._last_prune = 0.0
        self._acting: dict[str, tuple[str, Action, asyncio.Future[Instance]]] = {}
        # Deleted while still being built: deleted as soon as the build ends.
        self._doomed: set[str] = set()
        self._placing = asyncio.Lock()
        self._table: HostTable | None = None  # the hosts as the last decision left them
        # Hosts a report has just read, for the next decision, so it need not
        # ask the driver again; None once a decision has used them.
        self._unread_hosts: list[HostInfo] | None = None
        self._ledger = HostLedger.load(index.placements())  # read once, then kept current
        self._reported: dict[str, InstanceState] = {}  # the state last sent up, per instance
        # A driver that only computes (the fake one) is called on the event
        # loop; one that waits on a hypervisor gets a worker thread per call.
        self._blocking = driver.capabilities.blocking
        # The full reconciliation with the hypervisor runs this often. A driver
        # that announces changes has each one applied to the instance it names
        # (O(1) per change), so its full pass is only a safety net, run rarely.
        self._sync_every = sync_every
        self._last_sync = 0.0
        # The state each action of this leaf's own, under way, leads to: the
        # hypervisor's announcement of it is an echo, not news.
        self._expected: dict[str, InstanceState] = {}
        self._announced: set[str] = set()
        self._applying: asyncio.Task[None] | None = None
        # The agents that report here and take objects, by "KIND/" and
        # "KIND/CAPABILITY" (agents.registry), for the capability reports.
        self.agents_offered: Callable[[], tuple[tuple[str, int], ...]] = tuple
        if isinstance(driver, EventSource):
            self._sync_every = sync_every * EVENTS_FULL_SYNC
            loop = asyncio.get_running_loop()

            def announced(uuid: str, state: InstanceState | None) -> None:  # driver's thread
                loop.call_soon_threadsafe(self._on_announced, uuid, state)

            driver.watch(announced)

    # -------------------------------------------------------- recovery

    async def recover(self) -> None:
        """At start: settle the boots a crash cut short. A pending row whose
        instance the hypervisor has is completed; one it does not have is
        rolled back, so that a retry with the same request id builds it
        (instead of waiting forever for a boot nobody is running)."""
        for row in self._index.pending():
            try:
                instance = await self._run(self._driver.get, row.uuid)
            except virt_errors.InstanceNotFound:
                self._forget(row.uuid)
                log.info("boot of %s (request %s) was cut short: rolled back", row.uuid,
                         row.request_id)
                continue
            self._index.set_state(row.uuid, instance.state.value, self.identity.path,
                                  instance.host)
            self._ledger.place(row.uuid, instance.host, row.server_group)
            self._note(instance)
            log.info("boot of %s (request %s) was cut short after the build: completed",
                     row.uuid, row.request_id)

    # ------------------------------------------------------------ boot

    async def boot(self, spec: BootSpec, call: Call) -> Instance:
        check_boot(spec)
        spec = self._catalog.resolve(spec)
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
            self._index.record(
                Location(spec.uuid, "", self.identity.path, chosen, spec.project,
                         InstanceState.BUILDING.value, spec.request_id, pending=True,
                         name=spec.name, created_at=time.time(), server_group=group)
            )
            self._ledger.place(spec.uuid, chosen, group)
            self._claimed(chosen, spec.flavor)  # the next decision sees this one's claim
        try:
            instance = await self._spawn_first(spec, [c.name for c in selection.ordered])
        except BaseException:
            self._doomed.discard(spec.uuid)
            self._hosts_changed()  # the claim did not happen
            raise
        self._index.set_state(spec.uuid, instance.state.value, self.identity.path, instance.host)
        self._ledger.place(spec.uuid, instance.host, group)  # an alternate host, maybe
        if instance.host != chosen:
            self._hosts_changed()
        if spec.uuid in self._doomed:
            self._doomed.discard(spec.uuid)
            return await self._apply(spec.uuid, Action.DELETE)
        return self._note(instance)

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
                self._expected[spec.uuid] = InstanceState.ACTIVE  # popped by _note
                return await self._run(self._driver.spawn, placed, host)
            except virt_errors.NoCapacity:
                log.info("host %s filled up before %s could claim it", host, spec.uuid)
            except BaseException:
                self._forget(spec.uuid)
                raise
        self._forget(spec.uuid)
        raise ResourceExhausted(
            f"every host in {self.identity.path} that fit {spec.flavor} filled up"
            f" before the claim ({len(hosts)} tried)"
        )

    # ---------------------------------------------------------- actions

    async def act(self, uuid: str, action: Action, wait: bool, call: Call) -> Instance:
        """Apply `action`, once per request id (cells.outcomes): the same
        request sent again is answered as the first was, nothing applied twice."""
        uuid = check_uuid(uuid)  # one spelling: lookups compare uuids as written
        if action not in self._driver.capabilities.actions:
            raise self._info().refuse(action)
        if self._outcomes is None:
            return await self._act_once(uuid, action, wait, call)
        key = call.request_id
        running = self._acting.get(key)
        if running is not None:  # the same request, still being applied here
            _same_request(key, running[0], running[1], uuid, action)
            return await asyncio.shield(running[2])
        task = asyncio.ensure_future(self._act_remembered(key, uuid, action, wait, call))
        self._acting[key] = (uuid, action, task)
        task.add_done_callback(lambda _: self._acting.pop(key, None))
        return await asyncio.shield(task)

    async def _act_remembered(self, key: str, uuid: str, action: Action, wait: bool,
                              call: Call) -> Instance:
        assert self._outcomes is not None
        earlier = self._outcomes.begin(key, uuid, action)
        if earlier is not None:
            _same_request(key, earlier.uuid, earlier.action, uuid, action)
            if earlier.answer is not None:
                return earlier.answer  # answered before: nothing is applied again
            # Begun by a process that died while acting (this process's own
            # actions under way are in self._acting, and never reach here).
            settled = await self._settle_cut_short(key, uuid, action, call)
            if settled is not None:
                return settled
        try:
            answer = await self._act_once(uuid, action, wait, call)
        except (FailedPrecondition, InvalidArgument, UnknownInstance):
            self._outcomes.drop(key)  # refused: nothing was applied
            raise
        self._outcomes.finish(key, answer)
        return answer

    async def _settle_cut_short(self, key: str, uuid: str, action: Action,
                                call: Call) -> Instance | None:
        """An action began under `key` by a process that died while acting: its
        answer if the instance shows it applied, else None (apply it now)."""
        assert self._outcomes is not None
        try:
            current: Instance | None = await self.get(uuid, call)
        except UnknownInstance:
            current = None
        if not shows_applied(current.state if current is not None else None, action):
            return None
        answer = current or Instance(uuid, "", InstanceState.DELETED, Resources(),
                                     cell_path=self.identity.path)
        log.info("%s of %s (request %s) was cut short after it was applied: answered as"
                 " applied", action.value, uuid, key)
        self._outcomes.finish(key, answer)
        return answer

    async def _act_once(self, uuid: str, action: Action, wait: bool, call: Call) -> Instance:
        if wait:
            return await self._apply(uuid, action)
        # A cast: refuse what the driver would refuse, then answer at once.
        current = await self.get(uuid, call)
        check(uuid, current.state, action)
        task = asyncio.create_task(self._apply_logged(uuid, action))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return current

    async def _apply(self, uuid: str, action: Action) -> Instance:
        before = self._reported.get(uuid)
        target = next_state(before, action) if before is not None else None
        if target is not None:
            self._expected[uuid] = target
        try:
            return await self._act_on_driver(uuid, action)
        finally:
            self._expected.pop(uuid, None)

    async def _act_on_driver(self, uuid: str, action: Action) -> Instance:
        try:
            result = await self._run(self._driver.act, uuid, action)
        except virt_errors.InstanceNotFound:
            building = self._building(uuid)
            if building is None:
                raise UnknownInstance(uuid) from None
            check(uuid, building.state, action)  # only a delete, while it is being built
            self._doomed.add(uuid)
            return replace(building, state=InstanceState.DELETED)
        if result.state is InstanceState.DELETED:
            self._forget(uuid)
        # The driver holds the state; the leaf's index only maps uuid -> host.
        return self._note(result)

    async def _apply_logged(self, uuid: str, action: Action) -> None:
        try:
            await self._apply(uuid, action)
        except Exception:
            log.exception("%s of %s failed after it was accepted", action.value, uuid)

    # ------------------------------------------------------------ reads

    async def get(self, uuid: str, call: Call) -> Instance:
        uuid = check_uuid(uuid)  # one spelling: lookups compare uuids as written
        try:
            return self._here(await self._run(self._driver.get, uuid))
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
        states = Counter(state.value for state in self._reported.values())
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
        self._table = None  # the next decision starts from these hosts
        self._unread_hosts = self._hosts
        if time.monotonic() - self._last_sync >= self._sync_every:
            self._last_sync = time.monotonic()
            await self._sync()
        if self._outcomes is not None and time.monotonic() - self._last_prune >= PRUNE_EVERY:
            self._last_prune = time.monotonic()
            self._outcomes.prune()

    def _on_announced(self, uuid: str, state: InstanceState | None) -> None:
        """The hypervisor announced a change of `uuid`: unless it is the echo of
        what this leaf did or knows, look at that instance (and no other), and
        report what changed at once."""
        expected = self._expected.get(uuid)
        if state is not None and state in (expected, self._reported.get(uuid)):
            return  # an echo: the leaf noted, or is about to note, this very state
        if state is None and expected is not None:
            return  # news of an action of the leaf's own, under way
        self._announced.add(uuid)
        if self._applying is None or self._applying.done():
            self._applying = asyncio.create_task(self._apply_announced())
            self._background.add(self._applying)
            self._applying.add_done_callback(self._background.discard)

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
                if self._reported.get(uuid) is not instance.state:
                    self._note(instance)

    async def _sync(self) -> None:
        """Note every instance whose state differs from what was last reported,
        and every instance that vanished (deleted behind our back)."""
        now = {i.uuid: i for i in await self._run(self._driver.instances)}
        for uuid, instance in now.items():
            if self._reported.get(uuid) is not instance.state:
                self._note(instance)
        for uuid in list(self._reported):
            if uuid not in now:
                self._vanished(uuid)

    def _vanished(self, uuid: str) -> None:
        """The hypervisor no longer has `uuid`: deleted behind our back, unless
        it is still being built (or was never ours)."""
        if uuid not in self._reported:
            return
        row = self._index.lookup(uuid)
        if row is not None and row.pending:
            return  # still being built
        del self._reported[uuid]
        self._forget(uuid)
        self._changes.add(InstanceChange(uuid, InstanceState.DELETED, self.identity.path))
        log.info("instance %s vanished from the hypervisor", uuid)

    def _note(self, instance: Instance) -> Instance:
        """Queue the instance's change for the parent; returns it placed in this cell."""
        self._expected.pop(instance.uuid, None)
        here = self._here(instance)
        if here.state is InstanceState.DELETED:
            self._reported.pop(here.uuid, None)
        else:
            self._reported[here.uuid] = here.state
        self._changes.note(here)
        return here

    async def close(self) -> None:
        for task in list(self._background):
            await asyncio.gather(task, return_exceptions=True)
        await self._run(self._driver.close)

    # ---------------------------------------------------------- helpers

    def _forget(self, uuid: str) -> None:
        self._hosts_changed()  # room was freed
        self._expected.pop(uuid, None)
        self._index.forget(uuid)
        self._ledger.remove(uuid)

    def _here(self, instance: Instance) -> Instance:
        return replace(instance, cell_path=self.identity.path)

    async def _run(self, fn: Callable[..., R], *args: Any) -> R:
        """Call the driver: in a worker thread when it blocks, else right here."""
        if not self._blocking:
            return fn(*args)
        return await asyncio.to_thread(fn, *args)


def _same_request(key: str, first_uuid: str, first_action: Action, uuid: str,
                  action: Action) -> None:
    """InvalidArgument when request id `key`, first used for `first_action` of
    `first_uuid`, comes back with another action or instance."""
    if (first_uuid, first_action) != (uuid, action):
        raise InvalidArgument(
            f"request id {key} was used for {first_action.value} of {first_uuid}; a new"
            " action needs a new request id")
