"""Booting at a leaf: placing an instance on one of its hosts (its plan, its
claim, the build by the driver) and settling at start the boots a crash cut
short.

A boot writes a pending index row (uuid -> host, request id -> uuid) before
the build, so that a retried boot is idempotent: answered with the instance
once built, Aborted while the first is still in progress. The row is
completed when the build ends, and dropped, with the boot's action log and
its claim, when it fails. A delete that arrives while the instance is being
built is applied as soon as the build ends (`doomed`, cells.leaf_act).
"""

from __future__ import annotations

import logging
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from dataclasses import replace

from cells.attributes import InstanceAttributes
from cells.instance_actions import InstanceActions
from cells.leaf_driver import DriverRunner
from cells.leaf_events import LeafEvents
from cells.leaf_instances import LeafInstances
from cells.leaf_notify import LeafNotices
from cells.leaf_placement import LeafPlacement
from cells.ledger import HostLedger
from model.call import Call
from model.catalog import Catalog
from model.cells import Placement, PlacementOption
from model.compute import Action, BootSpec, Instance, InstanceState
from model.errors import Aborted, AlreadyExists, ResourceExhausted
from model.instance_actions import CREATE
from network.naming import bridge_name
from routing.index import Location, LocationIndex
from routing.validate import check_boot
from virt import errors as virt_errors
from virt.driver import VirtDriver

log = logging.getLogger(__name__)

Apply = Callable[[str, Action], Awaitable[Instance]]  # the leaf's way to act on an instance


class LeafBoots:
    def __init__(self, path: Callable[[], str], catalog: Catalog, driver: VirtDriver,
                 run: DriverRunner, index: LocationIndex, ledger: HostLedger,
                 placement: LeafPlacement, instances: LeafInstances, notices: LeafNotices,
                 events: LeafEvents, attributes: InstanceAttributes, actions: InstanceActions,
                 doomed: set[str], forget: Callable[[str], None], apply: Apply) -> None:
        self._path = path  # the leaf's, as it is now
        self._catalog = catalog  # what this leaf's image and network names stand for
        self._driver = driver
        self._run = run
        self._index = index
        self._ledger = ledger
        self._placement = placement
        self._instances = instances
        self._notices = notices
        self._events = events
        self._attributes = attributes
        self._actions = actions
        self._doomed = doomed  # deleted while still being built (the leaf's, shared)
        self._forget = forget  # the leaf drops an instance that is gone
        self._apply = apply

    async def boot(self, spec: BootSpec, call: Call) -> Instance:
        """Place and build an instance here. Idempotent on spec.request_id."""
        check_boot(spec)
        spec = self._catalog.resolve(spec, bridge_name)
        earlier = self._index.by_request_id(spec.request_id)
        if earlier is not None:
            if earlier.pending:
                raise Aborted(f"a boot with request id {spec.request_id} is still in"
                              f" progress in {self._path()}; retry shortly")
            return await self._instances.get(earlier.uuid, call)
        if not spec.uuid:  # this leaf is the first cell the boot reached
            spec = replace(spec, uuid=str(uuidlib.uuid4()))
        if self._index.lookup(spec.uuid) is not None:
            raise AlreadyExists(f"instance uuid {spec.uuid} is already in use")
        group = dict(spec.hints).get("group", "")
        async with self._placement.placing:  # one decision at a time (cells.leaf_placement)
            selection = await self._placement.select(spec)
            chosen = selection.ordered[0].name
            with self._notices.together():  # the pending row and its create.start
                self._index.record(
                    Location(spec.uuid, "", self._path(), chosen, spec.project,
                             InstanceState.BUILDING.value, spec.request_id, pending=True,
                             name=spec.name, created_at=time.time(), server_group=group)
                )
                self._notices.boot_started(spec, chosen)
            self._ledger.place(spec.uuid, chosen, group)
            self._placement.claimed(chosen, spec.flavor)  # the next decision sees this claim
            self._attributes.put(spec.uuid, None, spec.attributes)
            self._actions.begin(spec.uuid, spec.request_id, CREATE, spec.project, chosen)
        try:
            instance = await self._spawn_first(spec, [c.name for c in selection.ordered])
        except BaseException:
            self._actions.drop(spec.uuid, spec.request_id)  # not here: neither is its log
            self._doomed.discard(spec.uuid)
            self._placement.hosts_changed()  # the claim did not happen
            raise
        self._actions.finish(spec.uuid, spec.request_id, None, instance.host)
        with self._notices.together():
            self._index.set_state(spec.uuid, instance.state.value, self._path(), instance.host)
            self._notices.boot_ended(instance, spec)
        self._ledger.place(spec.uuid, instance.host, group)  # an alternate host, maybe
        if instance.host != chosen:
            self._placement.hosts_changed()
        if spec.uuid in self._doomed:
            self._doomed.discard(spec.uuid)
            return await self._apply(spec.uuid, Action.DELETE)
        return self._instances.here(self._events.note(instance))

    async def plan(self, spec: BootSpec, call: Call) -> Placement:
        """Where a boot of `spec` would go here, best first; nothing is claimed."""
        check_boot(spec)
        self._catalog.resolve(spec)  # refused here as a boot would be
        selection = await self._placement.select(spec)
        return Placement(
            tuple(PlacementOption(self._path(), h.name) for h in selection.ordered),
            (f"{self._path()}: {selection.explain('hosts')}",),
        )

    async def recover(self) -> None:
        """Settle the boots a crash cut short. A pending row whose instance the
        hypervisor has is completed; one it does not have is rolled back, so
        that a retry with the same request id builds it (instead of waiting
        forever for a boot nobody is running)."""
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
                self._index.set_state(row.uuid, instance.state.value, self._path(),
                                      instance.host)
                self._notices.boot_ended(instance)
            self._ledger.place(row.uuid, instance.host, row.server_group)
            self._actions.finish(row.uuid, row.request_id or "", None, instance.host)
            self._events.note(instance)
            log.info("boot of %s (request %s) was cut short after the build: completed",
                     row.uuid, row.request_id)

    async def _spawn_first(self, spec: BootSpec, hosts: list[str]) -> Instance:
        """Claim on each host in turn; a host that filled up since selection is skipped."""
        for host in hosts:
            try:
                # The driver sees the leaf's own path as the target (it records it).
                placed = replace(spec, target_cell=self._path())
                self._events.expected[spec.uuid] = InstanceState.ACTIVE  # popped by note
                return await self._run(self._driver.spawn, placed, host)
            except virt_errors.NoCapacity:
                log.info("host %s filled up before %s could claim it", host, spec.uuid)
            except BaseException as exc:
                self._give_up(spec, str(exc) or type(exc).__name__)
                raise
        self._give_up(spec, "every host that fit filled up before the claim")
        raise ResourceExhausted(
            f"every host in {self._path()} that fit {spec.flavor} filled up"
            f" before the claim ({len(hosts)} tried)"
        )

    def _give_up(self, spec: BootSpec, reason: str) -> None:
        """A boot failed here: its row goes, with its instance.create.error."""
        with self._notices.together():
            self._forget(spec.uuid)
            self._notices.boot_failed(spec, reason)
