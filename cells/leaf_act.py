"""Actions on an instance at a leaf: the routed actions (start, stop, reboot,
delete, shelve...) and rebuild, applied by the driver.

An action is refused before anything is recorded when the driver cannot do
it, the instance is locked against a member's call, or an administrator set
it to ERROR (only a delete applies then). With remembered outcomes it is
applied once per request id (cells.leaf_once); shelving goes through
cells.leaf_shelve. A call that waits gets the result; a cast is checked,
answered at once, and applied in the background. Each is written to the
instance's action log (cells.instance_actions), and the state it leads to
is expected, so that the hypervisor's announcement of it is an echo, not
news (cells.leaf_events).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from cells.attributes import InstanceAttributes
from cells.backend import Identity
from cells.instance_actions import InstanceActions
from cells.leaf_driver import DriverRunner
from cells.leaf_events import LeafEvents
from cells.leaf_instances import LeafInstances
from cells.leaf_notify import LeafNotices
from cells.leaf_once import RememberedActions
from cells.leaf_report import leaf_info
from cells.leaf_shelve import LeafShelving
from cells.outcomes import ActionOutcomes
from model.call import Call
from model.catalog import Catalog
from model.compute import Action, BootSpec, Instance, InstanceState, Resources
from model.errors import FailedPrecondition, InvalidArgument
from model.instance_actions import REBUILD, action_name
from model.states import SHELVING, check, next_state
from routing.errors import UnknownInstance
from routing.validate import check_uuid
from virt import errors as virt_errors
from virt.driver import Rebuilder, VirtDriver

log = logging.getLogger(__name__)


class LeafActing:
    def __init__(self, identity: Identity, catalog: Catalog, driver: VirtDriver,
                 run: DriverRunner, instances: LeafInstances, shelving: LeafShelving,
                 notices: LeafNotices, events: LeafEvents, attributes: InstanceAttributes,
                 actions: InstanceActions, outcomes: ActionOutcomes | None, doomed: set[str],
                 background: set[asyncio.Task[None]], forget: Callable[[str], None]) -> None:
        self._identity = identity
        self._catalog = catalog  # what this leaf's image names stand for (rebuild)
        self._driver = driver
        self._run = run
        self._instances = instances
        self._shelving = shelving
        self._notices = notices
        self._events = events
        self._attributes = attributes
        self._actions = actions
        self._doomed = doomed  # deleted while still being built (the leaf's, shared)
        self._background = background  # tasks the leaf awaits as it closes
        self._forget = forget  # the leaf drops an instance that is gone
        # Actions remembered by request id (None: every action is applied as sent).
        self._remembered = None if outcomes is None else RememberedActions(
            outcomes, self._act_once, instances.get, lambda: identity.path)

    async def act(self, uuid: str, action: Action, wait: bool, call: Call,
                  host: str = "") -> Instance:
        """Apply `action`, once per request id (cells.outcomes): the same
        request sent again is answered as the first was, nothing applied twice.
        `host`: where an unshelve goes (cells.leaf_shelve)."""
        uuid = check_uuid(uuid)  # one spelling: lookups compare uuids as written
        self._notices.acting(call.request_id)
        if action not in self._driver.capabilities.actions:
            raise leaf_info(self._identity, self._driver).refuse(action)
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

    async def apply(self, uuid: str, action: Action, host: str = "") -> Instance:
        """Apply `action` by the driver now, expecting the state it leads to."""
        before = self._events.reported.get(uuid)
        target = next_state(before, action) if before is not None else None
        if target is not None:
            self._events.expected[uuid] = target
        try:
            return await self._act_on_driver(uuid, action, host)
        finally:
            self._events.expected.pop(uuid, None)

    async def rebuild(self, uuid: str, image: str, call: Call) -> Instance:
        """The instance's disk built again from `image` (a name this leaf's
        catalog has), on its host, by a driver that can (virt.driver.Rebuilder)."""
        uuid = check_uuid(uuid)
        if not isinstance(self._driver, Rebuilder):
            raise FailedPrecondition(f"the driver of {self._identity.path}"
                                     f" ({self._identity.driver}) cannot rebuild an instance")
        source = self._catalog.resolve(BootSpec(uuid, "", "", Resources(), image=image))
        project, host = await self._instances.whose(uuid, call)
        driver: Rebuilder = self._driver
        self._notices.acting(call.request_id)
        began = time.time()

        async def rebuilt() -> Instance:
            try:
                return await self._run(driver.rebuild, uuid, image, source.image_source)
            except virt_errors.InstanceNotFound:
                raise UnknownInstance(uuid) from None

        done = await self._actions.track(uuid, call.request_id, REBUILD, project, host, rebuilt)
        self._notices.rebuilt(done, began)
        return self._instances.here(self._events.note(done))

    def prune_when_due(self) -> None:
        """Forget old remembered request ids, when it is time (cells.leaf_once)."""
        if self._remembered is not None:
            self._remembered.prune_when_due()

    async def _act_once(self, uuid: str, action: Action, wait: bool, call: Call,
                        host: str = "") -> Instance:
        name = action_name(action)
        if action in SHELVING:
            self._shelving.shelver()  # refused before anything is recorded
        if host:
            await self._shelving.check_host(await self._instances.get(uuid, call), host)
        if wait:
            project, where = await self._instances.whose(uuid, call)
            return await self._actions.track(uuid, call.request_id, name, project, where,
                                             lambda: self.apply(uuid, action, host))
        # A cast: refuse what the driver would refuse, then answer at once.
        current = await self._instances.get(uuid, call)
        check(uuid, current.state, action)
        began = self._actions.begin(uuid, call.request_id, name, current.project, current.host)
        task = asyncio.create_task(self._apply_logged(
            uuid, action, call.request_id if began else "", current.host, host))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return current

    async def _act_on_driver(self, uuid: str, action: Action, host: str = "") -> Instance:
        began = time.time()
        try:
            result = await (self._shelving.apply(uuid, action, host) if action in SHELVING
                            else self._run(self._driver.act, uuid, action))
        except virt_errors.InstanceNotFound:
            building = self._instances.building(uuid)
            if building is None:
                raise UnknownInstance(uuid) from None
            check(uuid, building.state, action)  # only a delete, while it is being built
            self._doomed.add(uuid)
            return replace(building, state=InstanceState.DELETED)
        with self._notices.acted(action, result, began):
            if result.state is InstanceState.DELETED:
                self._forget(uuid)
        # The driver holds the state; the leaf's index only maps uuid -> host.
        return self._instances.here(self._events.note(result))

    async def _apply_logged(self, uuid: str, action: Action, request_id: str,
                            host: str, target: str = "") -> None:
        try:
            await self._actions.settle(uuid, request_id, host,
                                       lambda: self.apply(uuid, action, target))
        except Exception:
            log.exception("%s of %s failed after it was accepted", action.value, uuid)

