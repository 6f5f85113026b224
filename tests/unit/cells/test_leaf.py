"""Tests for cells.leaf.LeafCell on a real FakeDriver and a SQLite location index."""

from __future__ import annotations

import asyncio
import threading
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bestmatch.selectors import RandomSelector
from cells.backend import Identity
from cells.leaf import LeafCell
from cellwire.client import boot_spec
from model.call import Call
from model.cells import CellKind
from model.compute import Action, BootSpec, Instance, InstanceState, Resources
from model.errors import Aborted, ResourceExhausted
from model.states import next_state
from routing.errors import UnknownInstance
from routing.index import LocationIndex
from virt.driver import Capabilities
from virt.errors import IllegalTransition
from virt.fake import FakeDriver, FakeHost

PATH = "top!leaf1"
HOSTS = [FakeHost("h1", Resources(8, 16384, 100)), FakeHost("h2", Resources(4, 8192, 50))]
T = TypeVar("T")
Setup = Callable[..., tuple[LeafCell, FakeDriver, LocationIndex]]


class GatedDriver(FakeDriver):
    """A FakeDriver whose spawn waits for `gate` (a slow hypervisor)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.gate = threading.Event()

    @property
    def capabilities(self) -> Capabilities:
        return replace(super().capabilities, blocking=True)  # it waits: a worker thread

    def spawn(self, spec: BootSpec, host: str) -> Instance:
        assert self.gate.wait(10), "the test never released the gate"
        return super().spawn(spec, host)


@pytest.fixture
def make_leaf(tmp_path: Path) -> Iterator[Setup]:
    opened: list[LocationIndex] = []

    def make(driver_cls: type[FakeDriver] = FakeDriver) -> tuple[LeafCell, FakeDriver,
                                                                 LocationIndex]:
        index = LocationIndex.open(f"sqlite:///{tmp_path / 'leaf.db'}")
        opened.append(index)
        driver = driver_cls(HOSTS)
        identity = Identity("leaf1", "127.0.0.1:0", PATH, CellKind.LEAF)
        return LeafCell(identity, driver, index, RandomSelector(seed=1)), driver, index

    yield make
    for index in opened:
        index.close()


def run(leaf: LeafCell, body: Awaitable[T]) -> T:
    async def main() -> T:
        try:
            return await body
        finally:
            await leaf.close()

    return asyncio.run(main())


def spec(name: str = "vm", memory_mb: int = 256, **kw: Any) -> BootSpec:
    return boot_spec(name, 1, memory_mb, 1, **kw)


async def state_of(leaf: LeafCell, uuid: str) -> InstanceState:
    return (await leaf.get(uuid, Call())).state


# Actions that lead from ACTIVE to each state the machine has.
REACH = {
    InstanceState.ACTIVE: [],
    InstanceState.PAUSED: [Action.PAUSE],
    InstanceState.SUSPENDED: [Action.SUSPEND],
    InstanceState.STOPPED: [Action.STOP],
}


def test_every_action_follows_the_state_machine(make_leaf: Setup) -> None:
    leaf, driver, index = make_leaf()

    async def body() -> int:
        checked = 0
        for start, path in REACH.items():
            for action in Action:
                booted = await leaf.boot(spec(f"vm-{checked}"), Call())
                assert (booted.state, booted.cell_path) == (InstanceState.ACTIVE, PATH)
                assert booted.host in {"h1", "h2"}
                for step in path:
                    await leaf.act(booted.uuid, step, True, Call())
                assert await state_of(leaf, booted.uuid) is start
                target = next_state(start, action)
                if target is None:
                    with pytest.raises(IllegalTransition):
                        await leaf.act(booted.uuid, action, True, Call())
                    assert await state_of(leaf, booted.uuid) is start
                else:
                    done = await leaf.act(booted.uuid, action, True, Call())
                    assert done.state is target
                if target is not InstanceState.DELETED:
                    gone = await leaf.act(booted.uuid, Action.DELETE, True, Call())
                    assert gone.state is InstanceState.DELETED
                with pytest.raises(UnknownInstance):
                    await leaf.get(booted.uuid, Call())
                assert index.lookup(booted.uuid) is None
                checked += 1
        return checked

    assert run(leaf, body()) == len(REACH) * len(Action)
    assert driver.instances() == [] and index.count() == 0


def test_boot_is_idempotent_on_request_id(make_leaf: Setup) -> None:
    leaf, driver, index = make_leaf()
    request = spec("web", request_id="req-1")

    async def body() -> tuple[Instance, Instance]:
        return await leaf.boot(request, Call()), await leaf.boot(request, Call())

    first, again = run(leaf, body())
    assert first.uuid and again.uuid == first.uuid
    assert again.state is InstanceState.ACTIVE
    assert [i.uuid for i in driver.instances()] == [first.uuid]
    assert index.count() == 1


def test_casts(make_leaf: Setup) -> None:
    leaf, _, _ = make_leaf()

    async def body() -> None:
        uuid = (await leaf.boot(spec(), Call())).uuid
        with pytest.raises(IllegalTransition):
            await leaf.act(uuid, Action.UNPAUSE, False, Call())
        with pytest.raises(IllegalTransition):
            await leaf.act(uuid, Action.START, False, Call())
        assert await state_of(leaf, uuid) is InstanceState.ACTIVE
        answer = await leaf.act(uuid, Action.PAUSE, False, Call())
        assert (answer.uuid, answer.state) == (uuid, InstanceState.ACTIVE)
        for _ in range(200):
            if await state_of(leaf, uuid) is InstanceState.PAUSED:
                break
            await asyncio.sleep(0.01)
        assert await state_of(leaf, uuid) is InstanceState.PAUSED

    run(leaf, body())


def test_delete_while_the_boot_is_still_building(make_leaf: Setup) -> None:
    leaf, driver, index = make_leaf(GatedDriver)
    assert isinstance(driver, GatedDriver)
    request = spec("slow", uuid=str(uuidlib.uuid4()))
    uuid = request.uuid

    async def body() -> Instance:
        boot = asyncio.create_task(leaf.boot(request, Call()))
        try:
            for _ in range(500):
                row = index.lookup(uuid)
                if row is not None and row.pending:
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the boot never recorded its pending row")
            building = await leaf.get(uuid, Call())
            assert (building.state, building.cell_path) == (InstanceState.BUILDING, PATH)
            with pytest.raises(IllegalTransition):
                await leaf.act(uuid, Action.PAUSE, True, Call())
            with pytest.raises(Aborted):
                await leaf.boot(request, Call())  # the same request, still in progress
            deleted = await leaf.act(uuid, Action.DELETE, True, Call())
            assert (deleted.uuid, deleted.state) == (uuid, InstanceState.DELETED)
            assert not boot.done()
        finally:
            driver.gate.set()
        return await boot

    result = run(leaf, body())
    assert (result.uuid, result.state) == (uuid, InstanceState.DELETED)
    assert driver.instances() == []
    assert all(h.instances == 0 for h in driver.hosts())
    assert index.lookup(uuid) is None and index.lookup_uncached(uuid) is None
    assert index.count() == 0


def test_a_row_whose_instance_vanished_is_dropped(make_leaf: Setup) -> None:
    leaf, driver, index = make_leaf()

    async def body() -> str:
        uuid = (await leaf.boot(spec(), Call())).uuid
        assert index.lookup(uuid) is not None
        driver.act(uuid, Action.DELETE)  # behind the leaf's back
        with pytest.raises(UnknownInstance):
            await leaf.get(uuid, Call())
        with pytest.raises(UnknownInstance):
            await leaf.act(uuid, Action.PAUSE, True, Call())
        return uuid

    uuid = run(leaf, body())
    assert index.lookup(uuid) is None and index.lookup_uncached(uuid) is None
    assert index.count() == 0


def test_no_host_has_the_memory(make_leaf: Setup) -> None:
    leaf, driver, index = make_leaf()
    with pytest.raises(ResourceExhausted) as caught:
        run(leaf, leaf.boot(spec("huge", memory_mb=20000), Call()))
    assert "ram:" in caught.value.message
    assert driver.instances() == []
    assert index.count() == 0


def test_changes_hold_the_latest_state_per_instance(make_leaf: Setup) -> None:
    leaf, _, _ = make_leaf()

    async def body() -> dict[str, str]:
        a = (await leaf.boot(spec("a"), Call())).uuid
        b = (await leaf.boot(spec("b"), Call())).uuid
        c = (await leaf.boot(spec("c"), Call())).uuid
        await leaf.act(a, Action.PAUSE, True, Call())
        await leaf.act(a, Action.UNPAUSE, True, Call())
        await leaf.act(a, Action.SUSPEND, True, Call())
        await leaf.act(b, Action.STOP, True, Call())
        await leaf.act(c, Action.DELETE, True, Call())
        return {"a": a, "b": b, "c": c}

    ids = run(leaf, body())
    taken = leaf.changes().take()
    latest = {change.uuid: change for change in taken}
    assert len(taken) == len(latest) == 3
    assert latest[ids["a"]].state is InstanceState.SUSPENDED
    assert latest[ids["b"]].state is InstanceState.STOPPED
    assert latest[ids["c"]].state is InstanceState.DELETED
    assert all(c.cell_path == PATH and c.host in {"h1", "h2"} for c in taken)
    assert leaf.changes().take() == []


def test_the_capacity_counts_instances_by_state(make_leaf: Setup) -> None:
    leaf, _driver, _index = make_leaf()

    async def body() -> dict[str, int]:
        booted = [await leaf.boot(spec(f"vm-{n}"), Call()) for n in range(3)]
        await leaf.act(booted[0].uuid, Action.PAUSE, True, Call())
        await leaf.act(booted[2].uuid, Action.DELETE, True, Call())
        return dict(leaf.capacity().states)

    assert run(leaf, body()) == {"ACTIVE": 1, "PAUSED": 1}
