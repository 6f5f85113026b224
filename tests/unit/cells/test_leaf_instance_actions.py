"""What a leaf did to its instances (cells.instance_actions): every action
recorded with its event, start, finish and result; a refusal leaves nothing;
the same request sent again is recorded once; the log outlives the instance
for KEEP_DELETED and is pruned beyond its bounds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bestmatch.selectors import RandomSelector
from cells.backend import Identity
from cells.instance_actions import KEEP_DELETED, InstanceActions
from cells.leaf import LeafCell
from cells.outcomes import ActionOutcomes
from cellwire.client import boot_spec
from model.call import Call
from model.cells import CellKind
from model.compute import Action, Resources
from model.edits import Edit
from model.errors import IllegalTransition
from model.instance_actions import ERROR, SUCCESS, ActionRecord
from routing.errors import UnknownInstance
from routing.index import LocationIndex
from virt.fake import FakeDriver, FakeHost

Body = Callable[[LeafCell, LocationIndex], Awaitable[None]]


def run(tmp_path: Path, body: Body) -> None:
    index = LocationIndex.open(f"sqlite:///{tmp_path / 'leaf.db'}")
    identity = Identity("leaf1", "127.0.0.1:0", "top!leaf1", CellKind.LEAF)
    leaf = LeafCell(identity, FakeDriver([FakeHost("h1", Resources(8, 16384, 100))]), index,
                    RandomSelector(seed=1), outcomes=ActionOutcomes(index))

    async def main() -> None:
        try:
            await body(leaf, index)
        finally:
            await leaf.close()

    try:
        asyncio.run(main())
    finally:
        index.close()


def _names(actions: tuple[ActionRecord, ...]) -> list[str]:
    return [a.action for a in actions]


def test_each_action_is_recorded_newest_first_with_its_event(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex) -> None:
        spec = boot_spec("web", 1, 256, 1, request_id="req-boot")
        made = await leaf.boot(spec, Call())
        await leaf.act(made.uuid, Action.REBOOT_HARD, True, Call(request_id="req-reboot"))
        await leaf.act(made.uuid, Action.STOP, True, Call(request_id="req-stop"))
        await leaf.update(made.uuid, Edit(locked=True), Call(request_id="req-lock"))
        await leaf.rebuild(made.uuid, "other", Call(request_id="req-rebuild"))
        log = await leaf.actions(made.uuid, "", Call())
        assert (log.uuid, log.project, log.deleted) == (made.uuid, spec.project, False)
        assert _names(log.actions) == ["rebuild", "lock", "stop", "reboot", "create"]
        create = log.actions[-1]
        assert (create.request_id, create.event, create.result, create.host) == (
            "req-boot", "compute__do_build_and_run_instance", SUCCESS, "h1")
        assert create.start_time <= create.finish_time <= time.time()
        lock = log.actions[1]
        assert (lock.event, lock.result) == ("", "")  # Nova's lock has no event
        only = await leaf.actions(made.uuid, "req-reboot", Call())
        assert [(a.action, a.event) for a in only.actions] == [
            ("reboot", "compute_reboot_instance")]

    run(tmp_path, body)


def test_a_refusal_leaves_nothing_and_a_retry_is_recorded_once(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex) -> None:
        made = await leaf.boot(boot_spec("web", 1, 256, 1, request_id="r0"), Call())
        with pytest.raises(IllegalTransition):
            await leaf.act(made.uuid, Action.UNPAUSE, True, Call(request_id="r1"))
        await leaf.act(made.uuid, Action.PAUSE, False, Call(request_id="r2"))  # a cast
        await leaf.act(made.uuid, Action.PAUSE, False, Call(request_id="r2"))  # sent again
        await asyncio.sleep(0.05)
        log = await leaf.actions(made.uuid, "", Call())
        assert _names(log.actions) == ["pause", "create"]
        assert log.actions[0].result == SUCCESS and log.actions[0].finish_time > 0

    run(tmp_path, body)


def test_a_failure_is_an_error_with_its_message(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex) -> None:
        made = await leaf.boot(boot_spec("web", 1, 256, 1), Call())
        store = InstanceActions(index)

        async def broken() -> None:
            raise RuntimeError("the hypervisor went away")

        with pytest.raises(RuntimeError):
            await store.track(made.uuid, "r-fail", "reboot", "p", "h1", broken)
        failed = (await leaf.actions(made.uuid, "r-fail", Call())).actions[0]
        assert (failed.result, failed.message) == (ERROR, "the hypervisor went away")

    run(tmp_path, body)


def test_a_deleted_instance_keeps_its_log_for_a_while(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex) -> None:
        made = await leaf.boot(boot_spec("web", 1, 256, 1), Call())
        await leaf.act(made.uuid, Action.DELETE, True, Call(request_id="r-del"))
        log = await leaf.actions(made.uuid, "", Call())
        assert log.deleted and _names(log.actions) == ["delete", "create"]
        assert log.actions[0].event == "compute_terminate_instance"
        store = InstanceActions(index)
        assert store.prune(time.time() + KEEP_DELETED / 2) == 0
        assert store.prune(time.time() + KEEP_DELETED + 1) == 2
        with pytest.raises(UnknownInstance):
            await leaf.actions(made.uuid, "", Call())

    run(tmp_path, body)


def test_a_live_instance_keeps_its_newest_actions(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex) -> None:
        made = await leaf.boot(boot_spec("web", 1, 256, 1), Call())
        store = InstanceActions(index, most=3)
        for n in range(4):
            await leaf.update(made.uuid, Edit(locked=n % 2 == 0), Call(request_id=f"l{n}"))
        assert store.prune() == 2  # the create and the first lock
        log = await leaf.actions(made.uuid, "", Call())
        assert [a.request_id for a in log.actions] == ["l3", "l2", "l1"]

    run(tmp_path, body)


def test_an_instance_without_a_log_has_an_empty_one(tmp_path: Path) -> None:
    async def body(leaf: LeafCell, index: LocationIndex) -> None:
        made = await leaf.boot(boot_spec("web", 1, 256, 1), Call())
        index.engine.dispose()
        with index.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM instance_actions")
        log = await leaf.actions(made.uuid, "", Call())
        assert (log.project, log.actions) == (made.project, ())
        with pytest.raises(UnknownInstance):
            await leaf.actions("00000000-0000-0000-0000-000000000001", "", Call())

    run(tmp_path, body)
