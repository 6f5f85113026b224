"""Fault injection on a real tree of cell processes: a middle cell and a leaf are killed
with SIGKILL at random moments during 500 concurrent boots and actions, and restarted.
Afterwards every successful boot is located exactly once, no instance exists twice at the
leaves, none is lost, and the top's index matches the leaves."""

from __future__ import annotations

import asyncio
import random
import signal
from collections import Counter
from pathlib import Path

from cells.client import AsyncCellClient, CellClient, boot_spec
from cells.ops.tree import TreeRunner
from model.cells import ListQuery
from model.compute import BootSpec, Instance
from model.errors import Aborted, DeadlineExceeded, FailedPrecondition, Unavailable
from routing.index import LocationIndex
from tests.integration.conftest import HEAD, start_tree

BOOTS = 500
CONCURRENCY = 32
BIG = '{ name = "%s", vcpus = 4096, memory_mb = 8388608, disk_gb = 100000 }'
TREE = HEAD + f"""
[cells.r2]
parent = "top"

[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{BIG % "h1"}]

[cells.z2]
parent = "r1"
driver = "fake"
hosts = [{BIG % "h2"}]

[cells.z3]
parent = "r2"
driver = "fake"
hosts = [{BIG % "h3"}]
"""
LEAVES = {"z1": "top!r1!z1", "z2": "top!r1!z2", "z3": "top!r2!z3"}
# What a client may see while cells die and come back; it retries by request id.
TRANSIENT = (Unavailable, Aborted, DeadlineExceeded)


async def boot_until_done(top: AsyncCellClient, spec: BootSpec) -> Instance:
    delay = 0.05
    while True:
        try:
            return await top.boot(spec, timeout=5)
        except TRANSIENT:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)


async def act_a_little(top: AsyncCellClient, uuid: str) -> None:
    """A pause and an unpause; refusals while cells are down are expected."""
    for action in (top.pause, top.unpause):
        try:
            await action(uuid, wait=True, timeout=5)
        except (*TRANSIENT, FailedPrecondition):
            pass


async def workload(address: str) -> list[Instance]:
    gate = asyncio.Semaphore(CONCURRENCY)
    top = AsyncCellClient(address)

    async def one(n: int) -> Instance:
        async with gate:
            vm = await boot_until_done(top, boot_spec(f"vm-{n:03d}", 1, 256,
                                                      request_id=f"crash-test-{n}"))
            if n % 5 == 0:
                await act_a_little(top, vm.uuid)
            return vm

    try:
        return await asyncio.gather(*(one(n) for n in range(BOOTS)))
    finally:
        await top.close()


async def chaos(runner: TreeRunner, done: asyncio.Event, rng: random.Random) -> list[str]:
    """Kill r1 or z1 at random moments and start it again, until the boots are done."""
    killed = []
    while not done.is_set():
        await asyncio.sleep(rng.uniform(0.2, 1.0))
        if done.is_set():
            break
        victim = rng.choice(["r1", "z1"])
        runner.kill_cell(victim, signal.SIGKILL)
        killed.append(victim)
        await asyncio.sleep(rng.uniform(0.1, 0.8))
        runner.start_cell(victim)
    return killed


async def run(runner: TreeRunner) -> tuple[list[Instance], list[str]]:
    done = asyncio.Event()
    chaos_task = asyncio.create_task(chaos(runner, done, random.Random(7)))
    try:
        booted = await workload(runner.top_address)
    finally:
        done.set()
        killed = await chaos_task
    return booted, killed


def test_no_boot_is_lost_or_duplicated_when_cells_die(tmp_path: Path) -> None:
    runner = start_tree(tmp_path, TREE)
    try:
        booted, killed = asyncio.run(asyncio.wait_for(run(runner), timeout=240))
        assert killed, "the chaos never struck"
        runner.wait_registered(30)

        at_leaves: dict[str, list[Instance]] = {}
        for name in LEAVES:
            with CellClient(runner.addresses[name], timeout=30) as leaf:
                at_leaves[name] = list(leaf.list(ListQuery(limit=1000)).instances)
        everywhere = [i for instances in at_leaves.values() for i in instances]
        # No instance twice, no request id built twice, and none lost or unexpected.
        assert len({i.uuid for i in everywhere}) == len(everywhere) == BOOTS
        per_request = Counter(i.request_id for i in everywhere)
        assert per_request.most_common(1)[0][1] == 1
        assert {i.uuid for i in everywhere} == {vm.uuid for vm in booted}

        # The top's index: every instance exactly where it is, nothing pending, no extras.
        where = {i.uuid: LEAVES[name] for name, instances in at_leaves.items()
                 for i in instances}
        with CellClient(runner.top_address, timeout=30) as top:
            for vm in booted:
                assert top.locate(vm.uuid).cell_path == where[vm.uuid]
        index = LocationIndex.open(f"sqlite:///{runner.state_dir / 'top' / 'cell.db'}")
        try:
            assert index.pending() == []
            assert index.count() == BOOTS
        finally:
            index.close()
    finally:
        runner.stop()
