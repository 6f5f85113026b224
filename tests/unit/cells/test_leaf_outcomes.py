"""A leaf applies an action once per request id (cells.leaf, cells.outcomes): the
same request sent again after its answer was lost is answered, not applied twice."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bestmatch.selectors import RandomSelector
from cells.backend import Identity
from cells.leaf import LeafCell
from cells.outcomes import KEEP, ActionOutcomes, decode, encode
from cellwire.client import boot_spec
from model.call import Call
from model.cells import CellKind
from model.compute import Action, Instance, InstanceState, Port, Resources
from model.errors import IllegalTransition, InvalidArgument
from model.states import shows_applied
from routing.index import LocationIndex
from virt.driver import Capabilities
from virt.fake import FakeDriver, FakeHost

PATH = "top!leaf1"


class CountingDriver(FakeDriver):
    """The fake hypervisor, counting the actions it applies; with `hold`, each
    action waits for it in a worker thread (as a real hypervisor's call does)."""

    def __init__(self, hold: threading.Event | None = None) -> None:
        super().__init__([FakeHost("h1", Resources(64, 65536, 1000))])
        self.applied: list[tuple[str, Action]] = []
        self._hold = hold
        self.entered = threading.Event()  # an action has reached the hypervisor

    @property
    def capabilities(self) -> Capabilities:
        return replace(super().capabilities, blocking=self._hold is not None)

    def act(self, uuid: str, action: Action) -> Instance:
        self.entered.set()
        if self._hold is not None:
            self._hold.wait(60)
        answer = super().act(uuid, action)  # a refusal raises: nothing applied
        self.applied.append((uuid, action))
        return answer


Body = Callable[[LeafCell, CountingDriver, ActionOutcomes], Awaitable[None]]


def run(tmp_path: Path, body: Body, driver: CountingDriver | None = None) -> None:
    driver = driver or CountingDriver()
    index = LocationIndex.open(f"sqlite:///{tmp_path / 'leaf.db'}")
    outcomes = ActionOutcomes(index)

    async def main() -> None:
        leaf = LeafCell(Identity("leaf1", "127.0.0.1:0", PATH, CellKind.LEAF), driver, index,
                        RandomSelector(seed=1), outcomes=outcomes)
        try:
            await body(leaf, driver, outcomes)
        finally:
            await leaf.close()

    try:
        asyncio.run(main())
    finally:
        index.close()


async def booted(leaf: LeafCell) -> str:
    return (await leaf.boot(boot_spec("vm", 1, 512), Call())).uuid


def test_an_action_sent_again_with_its_request_id_is_answered_not_applied(
        tmp_path: Path) -> None:
    async def body(leaf: LeafCell, driver: CountingDriver, _: ActionOutcomes) -> None:
        uuid = await booted(leaf)
        first = await leaf.act(uuid, Action.PAUSE, True, Call(request_id="r1"))
        again = await leaf.act(uuid, Action.PAUSE, True, Call(request_id="r1"))
        assert first.state is again.state is InstanceState.PAUSED
        assert driver.applied == [(uuid, Action.PAUSE)]
        # A new request id is a new action: refused, as a second pause is.
        with pytest.raises(IllegalTransition):
            await leaf.act(uuid, Action.PAUSE, True, Call(request_id="r2"))

    run(tmp_path, body)


def test_a_cast_sent_again_is_accepted_once(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, driver: CountingDriver, _: ActionOutcomes) -> None:
        uuid = await booted(leaf)
        await leaf.act(uuid, Action.STOP, False, Call(request_id="r1"))
        await asyncio.sleep(0)  # the accepted action runs
        await leaf.act(uuid, Action.STOP, False, Call(request_id="r1"))
        await asyncio.sleep(0)
        assert driver.applied == [(uuid, Action.STOP)]
        assert (await leaf.get(uuid, Call())).state is InstanceState.STOPPED

    run(tmp_path, body)


def test_a_retry_while_the_action_is_under_way_waits_for_the_same_answer(
        tmp_path: Path) -> None:
    hold = threading.Event()

    async def body(leaf: LeafCell, driver: CountingDriver, _: ActionOutcomes) -> None:
        uuid = await booted(leaf)
        first = asyncio.create_task(leaf.act(uuid, Action.SUSPEND, True, Call(request_id="r1")))
        assert await asyncio.to_thread(driver.entered.wait, 60)  # the first is held there
        second = asyncio.create_task(leaf.act(uuid, Action.SUSPEND, True, Call(request_id="r1")))
        await asyncio.sleep(0)  # its first step finds the first under way, and waits
        assert not second.done()
        hold.set()
        answers = await asyncio.gather(first, second)
        assert [a.state for a in answers] == [InstanceState.SUSPENDED] * 2
        assert driver.applied == [(uuid, Action.SUSPEND)]

    run(tmp_path, body, CountingDriver(hold))


def test_a_request_id_used_for_another_action_is_refused_and_nothing_applied(
        tmp_path: Path) -> None:
    async def body(leaf: LeafCell, driver: CountingDriver, _: ActionOutcomes) -> None:
        uuid = await booted(leaf)
        await leaf.act(uuid, Action.PAUSE, True, Call(request_id="r1"))
        with pytest.raises(InvalidArgument, match="request id r1 was used for pause of"):
            await leaf.act(uuid, Action.UNPAUSE, True, Call(request_id="r1"))
        assert driver.applied == [(uuid, Action.PAUSE)]
        assert (await leaf.get(uuid, Call())).state is InstanceState.PAUSED

    run(tmp_path, body)


def test_a_refused_action_leaves_no_memory_of_its_request_id(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, driver: CountingDriver, outcomes: ActionOutcomes) -> None:
        uuid = await booted(leaf)
        with pytest.raises(IllegalTransition):
            await leaf.act(uuid, Action.RESUME, True, Call(request_id="r1"))
        assert outcomes.get("r1") is None and driver.applied == []

    run(tmp_path, body)


@pytest.mark.parametrize("applied", [True, False], ids=["applied", "not-applied"])
def test_an_action_cut_short_by_a_dead_process_is_judged_by_the_instance_state(
        tmp_path: Path, applied: bool) -> None:
    async def body(leaf: LeafCell, driver: CountingDriver, outcomes: ActionOutcomes) -> None:
        uuid = await booted(leaf)
        # What a process that died while acting left: the row, open; and the
        # hypervisor's state, with or without the action.
        outcomes.begin("r1", uuid, Action.PAUSE)
        if applied:
            FakeDriver.act(driver, uuid, Action.PAUSE)
        answer = await leaf.act(uuid, Action.PAUSE, True, Call(request_id="r1"))
        assert answer.state is InstanceState.PAUSED
        assert driver.applied == ([] if applied else [(uuid, Action.PAUSE)])
        stored = outcomes.get("r1")
        assert stored is not None and stored.answer is not None
        assert stored.answer.state is InstanceState.PAUSED

    run(tmp_path, body)


def test_a_delete_sent_again_answers_deleted(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, driver: CountingDriver, _: ActionOutcomes) -> None:
        uuid = await booted(leaf)
        for _attempt in range(2):
            answer = await leaf.act(uuid, Action.DELETE, True, Call(request_id="d1"))
            assert answer.state is InstanceState.DELETED
        assert driver.applied == [(uuid, Action.DELETE)]

    run(tmp_path, body)


def test_another_process_on_the_same_database_answers_from_the_memory(tmp_path: Path) -> None:
    """A standby that takes over knows what its predecessor answered."""
    driver = CountingDriver()
    index = LocationIndex.open(f"sqlite:///{tmp_path / 'leaf.db'}")

    async def main() -> None:
        leaves = [LeafCell(Identity("leaf1", "127.0.0.1:0", PATH, CellKind.LEAF), driver,
                           index, RandomSelector(seed=1), outcomes=ActionOutcomes(index))
                  for _ in range(2)]
        uuid = await booted(leaves[0])
        await leaves[0].act(uuid, Action.REBOOT, True, Call(request_id="r1"))
        await leaves[1].act(uuid, Action.REBOOT, True, Call(request_id="r1"))
        assert driver.applied == [(uuid, Action.REBOOT)]
        for leaf in leaves:
            await leaf.close()

    try:
        asyncio.run(main())
    finally:
        index.close()


def test_request_ids_are_forgotten_after_the_keep_time(tmp_path: Path) -> None:
    index = LocationIndex.open(f"sqlite:///{tmp_path / 'leaf.db'}")
    try:
        outcomes = ActionOutcomes(index)
        outcomes.begin("old", "u1", Action.PAUSE)
        assert outcomes.prune() == 0  # younger than the keep time
        assert outcomes.prune(now=time.time() + KEEP + 1) == 1
        assert outcomes.get("old") is None
    finally:
        index.close()


def test_an_answer_is_stored_whole() -> None:
    instance = Instance("u1", "vm", InstanceState.PAUSED, Resources(2, 1024, 10),
                        image="img", ports=(Port("br0", "52:54:00:00:00:01", "10.0.0.5"),),
                        host="h1", cell_path=PATH, project="p", request_id="b1", fault="")
    assert decode(encode(instance)) == instance


@pytest.mark.parametrize(("state", "action", "shown"), [
    (InstanceState.PAUSED, Action.PAUSE, True),
    (InstanceState.ACTIVE, Action.PAUSE, False),
    (InstanceState.ACTIVE, Action.UNPAUSE, True),
    (InstanceState.STOPPED, Action.STOP, True),
    (InstanceState.ACTIVE, Action.REBOOT, True),
    (None, Action.DELETE, True),
    (InstanceState.ACTIVE, Action.DELETE, False),
    (None, Action.PAUSE, False),
], ids=lambda v: getattr(v, "value", str(v)))
def test_which_states_show_an_action_applied(
        state: InstanceState | None, action: Action, shown: bool) -> None:
    assert shows_applied(state, action) is shown
