"""Shelving at a leaf (cells.leaf_shelve): shelve keeps the host, offload
frees it in the driver, the ledger and the index, unshelve places an offloaded
instance on a host of the leaf (chosen, or named), once per request id; a leaf
whose driver cannot shelve refuses, naming itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bestmatch.selectors import RandomSelector
from cells.backend import Identity
from cells.leaf import LeafCell
from cells.outcomes import ActionOutcomes
from cellwire.client import boot_spec
from model.call import Call
from model.cells import CellKind
from model.compute import Action, Instance, InstanceState, Resources
from model.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from routing.index import LocationIndex
from virt.driver import Capabilities, without_shelving
from virt.fake import FakeDriver, FakeHost

Body = Callable[[LeafCell, LocationIndex, FakeDriver], Awaitable[None]]
S = InstanceState


def run(tmp_path: Path, body: Body, capabilities: Capabilities | None = None) -> None:
    index = LocationIndex.open(f"sqlite:///{tmp_path / 'leaf.db'}")
    identity = Identity("leaf1", "127.0.0.1:0", "top!leaf1", CellKind.LEAF, driver="fake")
    driver = FakeDriver([FakeHost("h1", Resources(8, 16384, 100)),
                         FakeHost("h2", Resources(2, 2048, 20))], capabilities=capabilities)
    leaf = LeafCell(identity, driver, index, RandomSelector(seed=1),
                    outcomes=ActionOutcomes(index))

    async def main() -> None:
        try:
            await body(leaf, index, driver)
        finally:
            await leaf.close()

    try:
        asyncio.run(main())
    finally:
        index.close()


async def booted(leaf: LeafCell, vcpus: int = 1) -> Instance:
    spec = boot_spec("web", vcpus, 512, 1, target_cell="top!leaf1")
    made = await leaf.boot(spec, Call())
    assert made.host == "h1"  # the seeded selector's choice
    return made


async def act(leaf: LeafCell, uuid: str, action: Action, host: str = "",
              request_id: str = "") -> Instance:
    call = Call(request_id=request_id or f"req-{action.value}-{host}")
    return await leaf.act(uuid, action, True, call, host)


async def offloaded(leaf: LeafCell, vcpus: int = 1) -> Instance:
    made = await booted(leaf, vcpus)
    await act(leaf, made.uuid, Action.SHELVE)
    return await act(leaf, made.uuid, Action.SHELVE_OFFLOAD)


def used(driver: FakeDriver, host: str) -> Resources:
    return next(h.used for h in driver.hosts() if h.name == host)


def test_shelve_keeps_the_instance_on_its_host(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex, driver: FakeDriver) -> None:
        made = await booted(leaf)
        shelved = await act(leaf, made.uuid, Action.SHELVE)
        assert (shelved.state, shelved.host, shelved.cell_path) == (S.SHELVED, "h1", "top!leaf1")
        row = index.lookup(made.uuid)
        assert row is not None and row.host == "h1"
        assert used(driver, "h1") == Resources(1, 512, 1)

    run(tmp_path, body)


def test_offload_frees_the_host_everywhere_the_leaf_keeps_it(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex, driver: FakeDriver) -> None:
        gone = await offloaded(leaf)
        assert (gone.state, gone.host) == (S.SHELVED_OFFLOADED, "")
        assert used(driver, "h1") == Resources()
        row = index.lookup(gone.uuid)
        assert row is not None and row.host == ""
        assert index.placements() == [(gone.uuid, "", "")]
        assert (await leaf.get(gone.uuid, Call())).state is S.SHELVED_OFFLOADED  # kept

    run(tmp_path, body)


def test_unshelve_of_an_offloaded_instance_goes_where_the_selector_says(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex, driver: FakeDriver) -> None:
        gone = await offloaded(leaf, vcpus=4)  # only h1 has 4 vCPUs
        back = await act(leaf, gone.uuid, Action.UNSHELVE)
        assert (back.state, back.host) == (S.ACTIVE, "h1")
        row = index.lookup(gone.uuid)
        assert row is not None and row.host == "h1"
        assert used(driver, "h1") == Resources(4, 512, 1)

    run(tmp_path, body)


def test_unshelve_onto_the_host_an_admin_names(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex, driver: FakeDriver) -> None:
        gone = await offloaded(leaf)
        back = await act(leaf, gone.uuid, Action.UNSHELVE, "h2")
        assert (back.state, back.host) == (S.ACTIVE, "h2")
        row = index.lookup(gone.uuid)
        assert row is not None and row.host == "h2"
        assert (used(driver, "h1"), used(driver, "h2")) == (Resources(), Resources(1, 512, 1))

    run(tmp_path, body)


@pytest.mark.parametrize(("host", "vcpus", "error", "match"), [
    ("h9", 1, InvalidArgument, "host h9 is not a host of leaf top!leaf1"),
    ("h2", 4, ResourceExhausted, "host h2 of top!leaf1 cannot take"),
], ids=["unknown-host", "no-room"])
def test_unshelve_onto_a_host_that_cannot_take_it_is_refused(
    tmp_path: Path, host: str, vcpus: int, error: type[Exception], match: str,
) -> None:
    async def body(leaf: LeafCell, index: LocationIndex, driver: FakeDriver) -> None:
        gone = await offloaded(leaf, vcpus)
        with pytest.raises(error, match=match):
            await act(leaf, gone.uuid, Action.UNSHELVE, host)
        assert (await leaf.get(gone.uuid, Call())).state is S.SHELVED_OFFLOADED

    run(tmp_path, body)


def test_a_shelved_instance_is_unshelved_where_it_is_and_names_no_host(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex, driver: FakeDriver) -> None:
        made = await booted(leaf)
        await act(leaf, made.uuid, Action.SHELVE)
        with pytest.raises(FailedPrecondition, match="only a shelved offloaded instance"):
            await act(leaf, made.uuid, Action.UNSHELVE, "h2")
        back = await act(leaf, made.uuid, Action.UNSHELVE)
        assert (back.state, back.host) == (S.ACTIVE, "h1")

    run(tmp_path, body)


def test_a_host_is_refused_for_any_action_but_unshelve(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex, driver: FakeDriver) -> None:
        made = await booted(leaf)
        with pytest.raises(InvalidArgument, match="stop takes no host"):
            await act(leaf, made.uuid, Action.STOP, "h2")

    run(tmp_path, body)


def test_an_unshelve_sent_again_is_answered_as_the_first(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex, driver: FakeDriver) -> None:
        gone = await offloaded(leaf)
        first = await act(leaf, gone.uuid, Action.UNSHELVE, "h2", request_id="req-u")
        again = await act(leaf, gone.uuid, Action.UNSHELVE, "h2", request_id="req-u")
        assert (again.state, again.host) == (first.state, first.host) == (S.ACTIVE, "h2")
        assert used(driver, "h2") == Resources(1, 512, 1)  # claimed once

    run(tmp_path, body)


def test_a_cast_unshelve_checks_its_host_before_it_is_accepted(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex, driver: FakeDriver) -> None:
        gone = await offloaded(leaf)
        with pytest.raises(InvalidArgument, match="not a host of leaf"):
            await leaf.act(gone.uuid, Action.UNSHELVE, False, Call(request_id="r1"), "h9")
        accepted = await leaf.act(gone.uuid, Action.UNSHELVE, False, Call(request_id="r2"),
                                  "h2")
        assert accepted.state is S.SHELVED_OFFLOADED  # answered at once
        for _ in range(100):
            if (await leaf.get(gone.uuid, Call())).state is S.ACTIVE:
                break
            await asyncio.sleep(0.01)
        assert (await leaf.get(gone.uuid, Call())).host == "h2"

    run(tmp_path, body)


def test_a_leaf_whose_driver_cannot_shelve_refuses_naming_itself(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex, driver: FakeDriver) -> None:
        made = await booted(leaf)
        for action in (Action.SHELVE, Action.SHELVE_OFFLOAD, Action.UNSHELVE):
            with pytest.raises(FailedPrecondition, match=f"cell top!leaf1 cannot {action.value}"
                               " instances: no shelving here"):
                await act(leaf, made.uuid, action)
        assert (await leaf.get(made.uuid, Call())).state is S.ACTIVE

    run(tmp_path, body, without_shelving(Capabilities(), "no shelving here"))
