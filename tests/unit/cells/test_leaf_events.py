"""A libvirt leaf applies each lifecycle event to the one domain it names, takes
the events of its own actions for echoes, and keeps capacity without listing
the hypervisor (libvirt's test driver, in-process)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bestmatch.selectors import RandomSelector
from cells.backend import Identity
from cells.leaf import LeafCell
from cellwire.client import boot_spec
from model.call import Call
from model.cells import CellKind
from model.compute import Action, InstanceState
from routing.index import LocationIndex

libvirt_driver = pytest.importorskip("virt.libvirt_driver", reason="libvirt-python missing")


class Recording:
    """The driver, with every call counted by method and first argument."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.calls: Counter[tuple[str, str]] = Counter()
        self.told: list[tuple[str, InstanceState | None]] = []  # events passed on

    @property
    def capabilities(self) -> Any:
        return self.driver.capabilities

    def watch(self, on_change: Callable[[str, InstanceState | None], None]) -> None:
        def told(uuid: str, state: InstanceState | None) -> None:  # libvirt's thread
            on_change(uuid, state)  # the leaf queues it on its loop first
            self.told.append((uuid, state))

        self.driver.watch(told)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.driver, name)

        def recorded(*args: Any) -> Any:
            self.calls[(name, str(args[0]) if args else "")] += 1
            return method(*args)

        return recorded

    def methods(self) -> set[str]:
        return {name for name, _ in self.calls}


async def taken(leaf: LeafCell, driver: Recording,
                events: list[tuple[str, InstanceState | None]]) -> None:
    """Wait until the driver has told the leaf each of `events`, and the leaf has
    done what it does with them (reading a domain, for news): so that what it
    did not do, it will not do either."""
    deadline = time.monotonic() + 60  # a bound against a hang only
    while not set(events) <= set(driver.told):
        assert time.monotonic() < deadline, f"not told of {set(events) - set(driver.told)}"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0)  # the leaf's handlers, queued before, run
    if leaf._applying is not None:
        await leaf._applying  # and the reads they started end


def test_an_event_touches_only_its_domain_and_own_actions_are_echoes(tmp_path: Path) -> None:
    hosts = [{"name": "h1", "vcpus": 64, "memory_mb": 65536, "disk_gb": 500}]

    async def main() -> None:
        driver = Recording(libvirt_driver.from_config({}, hosts, tmp_path))
        index = LocationIndex.open(f"sqlite:///{tmp_path / 'leaf.db'}")
        leaf = LeafCell(Identity("z1", "fake", "top!z1", CellKind.LEAF), driver, index,
                        RandomSelector(seed=1))
        try:
            vms = [await leaf.boot(boot_spec(f"vm-{n}", 1, 256), Call()) for n in range(6)]
            # The boots' own events: echoes.
            await taken(leaf, driver, [(vm.uuid, InstanceState.ACTIVE) for vm in vms])
            assert driver.methods() == {"hosts", "spawn"}
            driver.calls.clear()
            leaf.changes().take()

            await leaf.act(vms[0].uuid, Action.PAUSE, True, Call())
            await taken(leaf, driver, [(vms[0].uuid, InstanceState.PAUSED)])
            assert driver.methods() == {"act"}  # its own pause: nothing read again
            assert {c.uuid: c.state for c in leaf.changes().take()} == {
                vms[0].uuid: InstanceState.PAUSED}

            target = vms[0].uuid  # just paused by the leaf: an operator's change is news
            conn = driver.driver.connection("h1")
            conn.lookupByUUIDString(target).resume()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not [
                    c for c in leaf.changes()._pending.values() if c.uuid == target]:
                await asyncio.sleep(0.02)
            assert {c.uuid: c.state for c in leaf.changes().take()} == {
                target: InstanceState.ACTIVE}
            driver.calls.clear()

            target = vms[3].uuid
            conn.lookupByUUIDString(target).suspend()  # as an operator would, with virsh
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not [
                    c for c in leaf.changes()._pending.values() if c.uuid == target]:
                await asyncio.sleep(0.02)
            changes = {c.uuid: c.state for c in leaf.changes().take()}
            assert changes.get(target) is InstanceState.PAUSED
            assert set(driver.calls) == {("get", target)}

            await leaf.refresh()  # the first refresh also runs the full pass
            driver.calls.clear()
            listings = 0
            listing = conn.listAllDomains

            def counted(flags: int = 0) -> Any:
                nonlocal listings
                listings += 1
                return listing(flags)

            conn.listAllDomains = counted
            await leaf.refresh()  # capacity for a report: kept, not recounted
            assert driver.methods() == {"hosts"} and listings == 0
            del conn.listAllDomains
            assert leaf.capacity().instances == 6 and leaf.capacity().used.vcpus == 6

            driver.calls.clear()
            await leaf.boot(boot_spec("vm-after", 1, 256), Call())
            assert driver.methods() == {"spawn"}  # the hosts the report read serve it
        finally:
            await leaf.close()
            index.close()

    asyncio.run(main())


def test_capacity_follows_boots_deletes_and_an_operators_undefine(tmp_path: Path) -> None:
    hosts = [{"name": "h1", "vcpus": 16, "memory_mb": 16384, "disk_gb": 100}]
    driver = libvirt_driver.from_config({}, hosts, tmp_path)
    try:
        made = [boot_spec(f"vm-{n}", 2, 1024, 5, uuid=f"00000000-0000-4000-8000-00000000000{n}")
                for n in range(3)]
        for spec in made:
            driver.spawn(spec, "h1")
        (info,) = driver.hosts()
        assert (info.used.vcpus, info.used.memory_mb, info.used.disk_gb, info.instances) == (
            6, 3072, 15, 3)
        driver.act(made[0].uuid, Action.DELETE)
        conn = driver.connection("h1")
        dom = conn.lookupByUUIDString(made[1].uuid)
        dom.destroy()
        dom.undefine()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and driver.hosts()[0].instances != 1:
            time.sleep(0.02)  # the undefine reaches the driver as an event
        (info,) = driver.hosts()
        assert (info.used.vcpus, info.instances) == (2, 1)
        assert [i.uuid for i in driver.instances()] == [made[2].uuid]
    finally:
        driver.close()
