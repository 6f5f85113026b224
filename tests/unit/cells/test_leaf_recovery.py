"""A leaf restarted after a crash settles the boots that were cut short (cells.leaf)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bestmatch.selectors import RandomSelector
from cells.backend import Identity
from cells.leaf import LeafCell
from cellwire.client import boot_spec
from model.call import Call
from model.cells import CellKind
from model.compute import InstanceState, Resources
from routing.index import Location, LocationIndex
from virt.fake import FakeDriver, FakeHost

PATH = "top!leaf1"


def pending_row(uuid: str, request_id: str) -> Location:
    return Location(uuid, "", PATH, "h1", "p", InstanceState.BUILDING.value, request_id,
                    pending=True, name="vm", created_at=time.time())


def test_a_restarted_leaf_completes_built_boots_and_rolls_back_the_others(
    tmp_path: Path,
) -> None:
    driver = FakeDriver([FakeHost("h1", Resources(8, 16384, 100))])  # the hypervisor lives on
    built = boot_spec("built", 1, 512, uuid="11111111-1111-4111-8111-111111111111")
    driver.spawn(built, "h1")
    index = LocationIndex.open(f"sqlite:///{tmp_path / 'leaf.db'}")
    # What the crashed process left: two pending rows, one built, one not.
    index.record(pending_row(built.uuid, built.request_id))
    lost = boot_spec("lost", 1, 512, uuid="22222222-2222-4222-8222-222222222222")
    index.record(pending_row(lost.uuid, lost.request_id))

    async def main() -> None:
        leaf = LeafCell(Identity("leaf1", "127.0.0.1:0", PATH, CellKind.LEAF), driver, index,
                        RandomSelector(seed=1))
        try:
            await leaf.recover()
            done = index.lookup(built.uuid)
            assert done is not None and not done.pending
            assert done.state == InstanceState.ACTIVE.value
            assert index.lookup(lost.uuid) is None
            # The client's retry of the lost boot builds it, once.
            again = await leaf.boot(lost, Call())
            assert again.uuid == lost.uuid and again.state is InstanceState.ACTIVE
            assert (await leaf.boot(built, Call())).uuid == built.uuid  # no second VM
            assert sorted(i.name for i in driver.instances()) == ["built", "lost"]
        finally:
            await leaf.close()

    try:
        asyncio.run(main())
    finally:
        index.close()
