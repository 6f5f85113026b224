"""Shelving at a leaf (Nova's shelve, shelve offload and unshelve), by a
driver that can (virt.driver.Shelver); a leaf whose driver cannot refuses,
naming itself.

    shelve      the guest powered off on its host, its claim kept there
    offload     the guest gone from its host: the host ledger and the index
                row forget the host, whose resources the driver frees
    unshelve    a shelved instance powered on where it is; an offloaded one
                claimed on a host the leaf's selector chooses (as for a
                boot), or on the host an admin names, when it fits there

An instance never leaves its leaf here: a host of another leaf is refused
(that would be a migration).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bestmatch.api import Selection
from cells.ledger import HostLedger
from model.compute import Action, BootSpec, Instance, InstanceState
from model.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from routing.index import LocationIndex
from virt import errors as virt_errors
from virt.driver import Shelver, VirtDriver

log = logging.getLogger(__name__)

Run = Callable[..., Awaitable[Any]]  # the leaf's way to call its driver
Select = Callable[[BootSpec], Awaitable[Selection]]  # the leaf's hosts for a spec, best first


class LeafShelving:
    def __init__(self, path: Callable[[], str], driver_name: str, driver: VirtDriver,
                 run: Run, index: LocationIndex, ledger: HostLedger, select: Select,
                 hosts_changed: Callable[[], None], placing: asyncio.Lock) -> None:
        self._path = path  # the leaf's, as it is now
        self._driver_name = driver_name
        self._driver = driver
        self._run = run
        self._index = index
        self._ledger = ledger
        self._select = select
        self._hosts_changed = hosts_changed
        self._placing = placing  # the leaf's: one placement decision at a time

    def shelver(self) -> Shelver:
        """The driver as a Shelver; FailedPrecondition naming the leaf when it is not."""
        if not isinstance(self._driver, Shelver):
            raise FailedPrecondition(f"the driver of {self._path()} ({self._driver_name})"
                                     " cannot shelve an instance")
        return self._driver

    async def check_host(self, current: Instance, host: str) -> None:
        """Refuse, before an unshelve is accepted, a `host` it cannot go to:
        InvalidArgument for a host this leaf does not have, FailedPrecondition
        when the instance is not offloaded (a shelved one stays where it is)."""
        self.shelver()
        names = {h.name for h in await self._run(self._driver.hosts)}
        if host not in names:
            raise InvalidArgument(f"host {host} is not a host of leaf {self._path()}"
                                  f" (it has {', '.join(sorted(names)) or 'none'}); an"
                                  " instance is unshelved in its own leaf")
        if current.state is not InstanceState.SHELVED_OFFLOADED:
            raise FailedPrecondition(f"instance {current.uuid} is {current.state.value}: only"
                                     " a shelved offloaded instance is unshelved on a named"
                                     " host")

    async def apply(self, uuid: str, action: Action, host: str) -> Instance:
        """Apply shelve, shelve_offload or unshelve (onto `host`, when given) by
        the driver. Raises what the driver raises (InstanceNotFound,
        IllegalTransition), ResourceExhausted when no host can take it back."""
        shelver = self.shelver()
        if action is Action.SHELVE:
            return await self._driver_call(shelver.shelve, uuid)
        if action is Action.SHELVE_OFFLOAD:
            done = await self._driver_call(shelver.offload, uuid)
            self._offloaded(uuid)
            return done
        current = await self._run(self._driver.get, uuid)
        if current.state is not InstanceState.SHELVED_OFFLOADED:
            return await self._driver_call(shelver.unshelve, uuid, host)
        async with self._placing:  # one decision at a time: each sees the last one's claim
            return await self._place(shelver, current, host)

    async def _place(self, shelver: Shelver, current: Instance, host: str) -> Instance:
        """Claim a host for the offloaded `current`: `host`, or the selector's
        best that takes it."""
        group = self._group(current.uuid)
        spec = BootSpec(current.uuid, "", current.name, current.flavor, image=current.image,
                        project=current.project, hints=(("group", group),) if group else ())
        selection = await self._select(spec)
        hosts = [h.name for h in selection.ordered if not host or h.name == host]
        if not hosts:
            raise ResourceExhausted(f"host {host} of {self._path()} cannot take"
                                    f" {current.uuid}: {selection.explain('hosts')}")
        for name in hosts:
            try:
                done = await self._driver_call(shelver.unshelve, current.uuid, name)
            except virt_errors.NoCapacity:
                log.info("host %s filled up before %s could claim it", name, current.uuid)
                continue
            self._ledger.place(current.uuid, name, group)
            self._index.set_state(current.uuid, done.state.value, self._path(), name)
            self._hosts_changed()
            return done
        self._hosts_changed()
        raise ResourceExhausted(f"every host in {self._path()} that fit {current.flavor}"
                                f" filled up before {current.uuid} could be unshelved")

    def _offloaded(self, uuid: str) -> None:
        """The instance is on no host: neither the ledger nor its index row says one."""
        self._ledger.remove(uuid)
        self._index.clear_host(uuid)
        self._hosts_changed()  # room was freed

    def _group(self, uuid: str) -> str:
        row = self._index.lookup(uuid)
        return row.server_group if row is not None else ""

    async def _driver_call(self, fn: Callable[..., Instance], *args: Any) -> Instance:
        """A Shelver call; a host the driver does not have is InvalidArgument."""
        try:
            done: Instance = await self._run(fn, *args)
        except virt_errors.InvalidSpec as exc:
            raise InvalidArgument(str(exc)) from exc
        return done
