"""Fault injection on a real tree of cell processes: a middle cell and a leaf are killed
with SIGKILL, KILLS times in all, during 500 concurrent boots and actions, and restarted.
Afterwards every successful boot is located exactly once, no instance exists twice at the
leaves, none is lost, and the top's index matches the leaves.

The faults are paced by progress, not by the clock, so that the test asks the same of a
slow machine as of a fast one: a kill waits until the cell killed before serves again and
boots have completed since, and it falls while boots are under way (the chaos hands the
workload its boots batch by batch to make sure of that)."""

from __future__ import annotations

import asyncio
import itertools
import random
import signal
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cellops.tree import TreeRunner
from cellwire.client import AsyncCellClient, CellClient, boot_spec
from model.cells import CellNode, ListQuery
from model.compute import BootSpec, Instance
from model.errors import Aborted, CellError, DeadlineExceeded, FailedPrecondition, Unavailable
from routing.index import LocationIndex
from tests.integration.conftest import HEAD, start_tree

BOOTS = 500
CONCURRENCY = 32
KILLS = 8  # half of r1, half of z1, in an order drawn from a seeded rng
BATCH = 25  # boots handed out after each kill, and again whenever all handed out are done
STEP = 10  # boots completed since the last kill before the next
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
# Only a bound against a hang: a slow machine takes a few minutes at most.
SAFETY_BOUND = 600


@dataclass(frozen=True)
class Kill:
    victim: str
    done: int  # boots completed when it was killed
    under_way: int  # boots started and not completed then


class Progress:
    """The workload's boots as the chaos sees them. A boot starts only with a
    ticket, and the chaos hands them out, so that however fast or slow the
    machine, boots are under way when it kills and some complete in between."""

    def __init__(self) -> None:
        self.tickets = asyncio.Semaphore(0)
        self.released = self.started = self.done = 0
        self.moved = asyncio.Event()  # set when a boot starts or completes

    def release(self, count: int) -> None:
        count = min(count, BOOTS - self.released)
        self.released += count
        for _ in range(count):
            self.tickets.release()

    def started_one(self) -> None:
        self.started += 1
        self.moved.set()

    def done_one(self) -> None:
        self.done += 1
        self.moved.set()

    async def under_way_since(self, since: int) -> None:
        """Wait until STEP boots completed after `since` completions and others are
        still under way, handing out more boots whenever all handed out are done."""
        while not (self.done >= since + STEP and self.started > self.done):
            if self.done == self.released:
                assert self.released < BOOTS, "the boots ran out before the last kill"
                self.release(BATCH)
            self.moved.clear()
            await self.moved.wait()


async def boot_until_done(top: AsyncCellClient, spec: BootSpec) -> Instance:
    delay = 0.05
    while True:
        try:
            return await top.boot(spec, timeout=10)
        except TRANSIENT:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)


async def act_a_little(top: AsyncCellClient, uuid: str) -> None:
    """A pause and an unpause; refusals while cells are down are expected."""
    for action in (top.pause, top.unpause):
        try:
            await action(uuid, wait=True, timeout=10)
        except (*TRANSIENT, FailedPrecondition):
            pass


async def workload(top: AsyncCellClient, progress: Progress) -> list[Instance]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(n: int) -> Instance:
        await progress.tickets.acquire()  # kept: a ticket is for one boot
        async with gate:
            progress.started_one()
            vm = await boot_until_done(top, boot_spec(f"vm-{n:03d}", 1, 256,
                                                      request_id=f"crash-test-{n}"))
            progress.done_one()
            if n % 5 == 0:
                await act_a_little(top, vm.uuid)
            return vm

    return await asyncio.gather(*(one(n) for n in range(BOOTS)))


def reported(tree: CellNode) -> bool:
    """Every leaf has reported its hosts, and every router the sum of its children's."""
    return all(
        n.capacity.hosts > 0 if n.kind.value == "leaf"
        else n.capacity.hosts == sum(c.capacity.hosts for c in n.children)
        for n in tree.walk()
    )


async def every_cell_serves(top: AsyncCellClient, paths: dict[str, str]) -> bool:
    """The top's topology, asked of every cell live, has each one up and
    answering, registered (it knows its path) and reported."""
    try:
        tree = await top.topology(timeout=10)
    except CellError:
        return False
    nodes = {n.name: n for n in tree.walk()}
    return (nodes.keys() == paths.keys() and reported(tree)
            and all(n.up and not n.unreachable and n.path == paths[n.name]
                    for n in nodes.values()))


async def serves_again(runner: TreeRunner, top: AsyncCellClient, victim: str) -> None:
    """Wait until the restarted `victim`, and so every cell, serves again."""
    paths = runner.spec.paths()
    delay = 0.05
    while not await every_cell_serves(top, paths):
        proc = runner.procs[victim]
        assert proc.poll() is None, (
            f"{victim} exited with {proc.returncode} after its restart"
            f" (log in {runner.state_dir / victim / 'cell.log'})")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)


async def chaos(runner: TreeRunner, top: AsyncCellClient, progress: Progress,
                victims: list[str]) -> list[Kill]:
    """Kill each of `victims` in turn with SIGKILL and start it again at once.
    Each kill waits for the cell killed before to serve again and for boots
    completed since, and falls while others are under way."""
    kills: list[Kill] = []
    progress.release(BATCH)
    for victim in victims:
        if kills:
            await serves_again(runner, top, kills[-1].victim)
        await progress.under_way_since(kills[-1].done if kills else 0)
        kills.append(Kill(victim, progress.done, progress.started - progress.done))
        runner.kill_cell(victim, signal.SIGKILL)
        runner.start_cell(victim)
        progress.release(BATCH)  # boots that meet the cell down
    progress.release(BOOTS)  # the rest, while the last one comes back
    await serves_again(runner, top, kills[-1].victim)
    return kills


async def run(runner: TreeRunner, victims: list[str]) -> tuple[list[Instance], list[Kill]]:
    progress = Progress()
    top = AsyncCellClient(runner.top_address)
    try:
        async with asyncio.TaskGroup() as group:
            boots = group.create_task(workload(top, progress))
            kills = group.create_task(chaos(runner, top, progress, victims))
    finally:
        await top.close()
    return boots.result(), kills.result()


def test_no_boot_is_lost_or_duplicated_when_cells_die(tmp_path: Path) -> None:
    runner = start_tree(tmp_path, TREE)
    try:
        victims = ["r1", "z1"] * (KILLS // 2)
        random.Random(7).shuffle(victims)
        booted, kills = asyncio.run(asyncio.wait_for(run(runner, victims), SAFETY_BOUND))
        # Every kill struck while boots were under way, after some completed.
        assert [k.victim for k in kills] == victims
        assert all(k.under_way > 0 for k in kills)
        assert all(b.done - a.done >= STEP for a, b in itertools.pairwise(kills))

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
