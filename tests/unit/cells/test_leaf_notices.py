"""A leaf with notifications on writes each change's events into its outbox,
in the change's transaction: what a boot, actions, a refusal, a failed boot,
a restart and reconciliation leave there."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bestmatch.selectors import RandomSelector
from cells.backend import Identity
from cells.leaf import LeafCell
from cellwire.client import boot_spec
from model.call import Call
from model.cells import CellKind
from model.compute import Action, InstanceState, Resources
from model.errors import FailedPrecondition, ResourceExhausted
from notify.outbox import Outbox, Pending
from routing.index import LocationIndex
from virt.fake import FakeDriver, FakeHost

PATH = "top!z1"


@pytest.fixture
def index(tmp_path: Path) -> Iterator[LocationIndex]:
    opened = LocationIndex.open(f"sqlite:///{tmp_path / 'leaf.db'}")
    yield opened
    opened.close()


def leaf_on(index: LocationIndex, driver: FakeDriver) -> tuple[LeafCell, Outbox]:
    outbox = Outbox(index, lambda: PATH)
    leaf = LeafCell(Identity("z1", "fake", PATH, CellKind.LEAF), driver, index,
                    RandomSelector(seed=1), sync_every=0.0, outbox=outbox)
    return leaf, outbox


def told(outbox: Outbox) -> list[tuple[str, str, str]]:
    """(event type, state, request id) of what waits, oldest first; then empties it."""
    rows = outbox.batch(1000)
    outbox.remove([r.id for r in rows])
    return told_rows(rows)


def told_rows(rows: list[Pending]) -> list[tuple[str, str, str]]:
    seen = []
    for row in rows:
        data = json.loads(row.message)["payload"]["nova_object.data"]
        seen.append((json.loads(row.message)["event_type"], data.get("state", ""),
                     data.get("request_id") or ""))
    return seen


def test_a_lifecycle_is_told_in_order(index: LocationIndex) -> None:
    async def main() -> None:
        leaf, outbox = leaf_on(index, FakeDriver([FakeHost("h1", Resources(8, 16384, 100))]))
        vm = await leaf.boot(boot_spec("web", 1, 512, request_id="boot-1"), Call())
        await leaf.act(vm.uuid, Action.PAUSE, True, Call(request_id="p-1"))
        await leaf.act(vm.uuid, Action.UNPAUSE, True, Call(request_id="u-1"))
        await leaf.act(vm.uuid, Action.STOP, True, Call(request_id="s-1"))
        await leaf.act(vm.uuid, Action.DELETE, True, Call(request_id="d-1"))
        assert told(outbox) == [
            ("instance.create.start", "building", "boot-1"),
            ("instance.create.end", "active", "boot-1"),
            ("instance.pause.start", "paused", "p-1"), ("instance.pause.end", "paused", "p-1"),
            ("instance.unpause.start", "active", "u-1"),
            ("instance.unpause.end", "active", "u-1"),
            ("instance.power_off.start", "stopped", "s-1"),
            ("instance.power_off.end", "stopped", "s-1"),
            ("instance.delete.start", "deleted", "d-1"),
            ("instance.delete.end", "deleted", "d-1")]
        await leaf.close()

    asyncio.run(main())


def test_a_rebuild_is_told_with_its_new_image(index: LocationIndex) -> None:
    async def main() -> None:
        leaf, outbox = leaf_on(index, FakeDriver([FakeHost("h1", Resources(8, 16384, 100))]))
        vm = await leaf.boot(replace(boot_spec("web", 1, 512, request_id="boot-1"),
                                     image="one"), Call())
        told(outbox)
        await leaf.rebuild(vm.uuid, "two", Call(request_id="r-1"))
        rows = outbox.batch(10)
        assert [(t, state, rid) for t, state, rid in told_rows(rows)] == [
            ("instance.rebuild.start", "active", "r-1"),
            ("instance.rebuild.end", "active", "r-1")]
        assert {json.loads(r.message)["payload"]["nova_object.data"]["image_uuid"]
                for r in rows} == {"two"}
        await leaf.close()

    asyncio.run(main())


def test_a_refused_action_and_a_failed_boot(index: LocationIndex) -> None:
    async def main() -> None:
        leaf, outbox = leaf_on(index, FakeDriver([FakeHost("h1", Resources(2, 4096, 100))]))
        vm = await leaf.boot(boot_spec("web", 1, 512, request_id="b-1"), Call())
        told(outbox)
        with pytest.raises(FailedPrecondition):
            await leaf.act(vm.uuid, Action.UNPAUSE, True, Call(request_id="x"))  # not paused
        assert told(outbox) == []  # nothing was applied: nothing is told
        with pytest.raises(ResourceExhausted):
            await leaf.boot(boot_spec("huge", 64, 512, request_id="b-2"), Call())
        assert told(outbox) == []  # refused before anything was claimed
        await leaf.close()

    asyncio.run(main())


def test_a_spawn_that_fails_is_told_as_an_error(index: LocationIndex) -> None:
    class Failing(FakeDriver):
        def spawn(self, spec, host):  # type: ignore[no-untyped-def]
            raise RuntimeError("the hypervisor said no")

    async def main() -> None:
        leaf, outbox = leaf_on(index, Failing([FakeHost("h1", Resources(8, 16384, 100))]))
        with pytest.raises(RuntimeError):
            await leaf.boot(boot_spec("web", 1, 512, request_id="b-1"), Call())
        assert [t[:2] for t in told(outbox)] == [("instance.create.start", "building"),
                                                  ("instance.create.error", "error")]
        await leaf.close()

    asyncio.run(main())


def test_reconciliation_tells_what_changed_behind_the_leafs_back(
        index: LocationIndex) -> None:
    async def main() -> None:
        driver = FakeDriver([FakeHost("h1", Resources(8, 16384, 100))])
        leaf, outbox = leaf_on(index, driver)
        await leaf.refresh()
        a = await leaf.boot(boot_spec("a", 1, 512), Call())
        b = await leaf.boot(boot_spec("b", 1, 512), Call())
        await leaf.act(a.uuid, Action.PAUSE, True, Call())
        await leaf.refresh()
        told(outbox)
        await leaf.refresh()
        assert told(outbox) == []  # the leaf's own changes are not news again

        # A restart: the new process tells nothing it told before.
        await leaf.close()
        leaf, outbox = leaf_on(index, driver)
        await leaf.recover()
        await leaf.refresh()
        assert told(outbox) == []

        driver.act(b.uuid, Action.SUSPEND)  # as an operator would, on the hypervisor
        await leaf.refresh()
        assert [t[:2] for t in told(outbox)] == [("instance.update", "suspended")]
        driver.act(a.uuid, Action.DELETE)
        await leaf.refresh()
        assert [t[:2] for t in told(outbox)] == [("instance.update", "deleted")]
        await leaf.close()

    asyncio.run(main())


def test_notifications_off_writes_nothing(index: LocationIndex) -> None:
    async def main() -> None:
        leaf = LeafCell(Identity("z1", "fake", PATH, CellKind.LEAF),
                        FakeDriver([FakeHost("h1", Resources(8, 16384, 100))]), index,
                        RandomSelector(seed=1))
        vm = await leaf.boot(boot_spec("web", 1, 512), Call())
        await leaf.act(vm.uuid, Action.PAUSE, True, Call())
        assert Outbox(index, lambda: PATH).count() == 0
        assert (await leaf.get(vm.uuid, Call())).state is InstanceState.PAUSED
        await leaf.close()

    asyncio.run(main())


def test_a_host_found_down_and_up_again_is_told(index: LocationIndex) -> None:
    async def main() -> None:
        driver = FakeDriver([FakeHost("h1", Resources(8, 16384, 100)),
                             FakeHost("h2", Resources(8, 16384, 100))])
        leaf, outbox = leaf_on(index, driver)
        await leaf.refresh()  # the first look only remembers
        assert told(outbox) == []
        driver._hosts["h2"] = replace(driver._hosts["h2"], alive=False)
        await leaf.refresh()
        driver._hosts["h2"] = replace(driver._hosts["h2"], alive=True)
        await leaf.refresh()
        rows = outbox.batch(10)
        seen = [(json.loads(r.message)["event_type"],
                 json.loads(r.message)["payload"]["nova_object.data"]["host"]) for r in rows]
        assert seen == [("host.down", "h2"), ("host.up", "h2")]
        await leaf.close()

    asyncio.run(main())
