"""A leaf's instances as it shows them, and what users set on them.

The driver is the truth about an instance; the leaf shows it with its own
path and what users set on it (names, descriptions, metadata, tags, locks:
cells.attributes), as ERROR while an administrator has set it so, and as
BUILDING while a boot of it is under way here (the hypervisor has nothing
yet). The reads (get, list, locate, owner) and the edits of what users set
(update) are here; actions on the guest are cells.leaf_act.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from cells.attributes import InstanceAttributes
from cells.instance_actions import InstanceActions
from cells.leaf_driver import DriverRunner
from model.call import Call
from model.cells import InstancePage, ListQuery, Located
from model.compute import Instance, InstanceState, Resources
from model.edits import Edit, apply
from model.edits import check as check_edit
from model.instance_actions import edit_action
from routing.errors import UnknownInstance
from routing.index import LocationIndex
from routing.paging import page_of
from routing.validate import check_uuid
from virt import errors as virt_errors
from virt.driver import VirtDriver


class LeafInstances:
    def __init__(self, path: Callable[[], str], driver: VirtDriver, run: DriverRunner,
                 index: LocationIndex, attributes: InstanceAttributes,
                 actions: InstanceActions, forget: Callable[[str], None]) -> None:
        self._path = path  # the leaf's, as it is now
        self._driver = driver
        self._run = run
        self._index = index
        self._attributes = attributes
        self._actions = actions
        self._forget = forget  # the leaf drops an instance that is gone
        self._editing = asyncio.Lock()  # one edit at a time: each reads the last one's

    def here(self, instance: Instance) -> Instance:
        """`instance` as this leaf shows it: its path, and what users set on it."""
        given, attributes = self._attributes.of(instance.uuid)
        shown = replace(instance, cell_path=self._path(), name=given or instance.name,
                        attributes=attributes)
        if attributes.reset_to_error:
            return replace(shown, state=InstanceState.ERROR,
                           fault="set to ERROR by an administrator")
        return shown

    async def get(self, uuid: str, call: Call) -> Instance:
        return self.here(await self._found(check_uuid(uuid)))

    async def list(self, query: ListQuery, call: Call) -> InstancePage:
        instances = await self._run(self._driver.instances)
        page, token = page_of((self.here(i) for i in instances), query)
        return InstancePage(tuple(page), token)

    async def locate(self, uuid: str, call: Call) -> Located:
        instance = await self.get(uuid, call)
        return Located(uuid, self._path(), instance.host, instance.project)

    async def owner(self, uuid: str, call: Call) -> str:
        """The project of `uuid`: from the index row a boot here wrote, else
        (an adopted instance) from the driver."""
        uuid = check_uuid(uuid)
        row = self._index.lookup(uuid)
        if row is not None:
            return row.project
        return (await self.get(uuid, call)).project

    async def whose(self, uuid: str, call: Call) -> tuple[str, str]:
        """The project and host of an instance here (UnknownInstance if none)."""
        row = self._index.lookup(uuid)
        found = row or await self.get(uuid, call)
        return found.project, found.host

    def building(self, uuid: str) -> Instance | None:
        """The hypervisor has no such instance: BUILDING if a boot of it is under
        way here; otherwise None, and a stale row of ours is dropped."""
        row = self._index.lookup(uuid)
        if row is None:
            return None
        if not row.pending:
            self._forget(uuid)
            return None
        return Instance(uuid, row.name, InstanceState.BUILDING, Resources(),
                        cell_path=self._path(), project=row.project,
                        request_id=row.request_id or "")

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
        return self.here(current)

    async def _found(self, uuid: str) -> Instance:
        """The instance as its hypervisor has it (BUILDING while a boot of it is
        under way here); UnknownInstance when it is not here."""
        try:
            return await self._run(self._driver.get, uuid)
        except virt_errors.InstanceNotFound:
            building = self.building(uuid)
            if building is None:
                raise UnknownInstance(uuid) from None
            return building
