"""Router cells as several processes over one PostgreSQL database: replicas of
the top and of a region, children reporting to each, clients given every
replica's address."""

from __future__ import annotations

import random
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from cellops.tree import TreeRunner
from cellops.tree_spec import load_tree
from cellwire.channels import split_addresses
from cellwire.client import CellClient, boot_spec
from model.cells import ListQuery
from model.compute import Instance, InstanceState
from model.config import ConfigError
from model.errors import CellError, NotFound
from routing.index import LocationIndex
from tests.integration.conftest import PATIENCE, eventually

TREE = """
[tree]
insecure = true
report_interval = 0.2
# A parent marks a child down after 5 s of silence, not 0.6 s: these tests
# kill one replica of a cell at a time, and a loaded machine may delay the
# other's reports past a short bound (then boots would find no cell up).
down_after = 25

[cells.top]
replicas = 2
database_url = "{top}"

[cells.r1]
parent = "top"
replicas = 2
database_url = "{r1}"

[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{{ name = "h1", vcpus = 512, memory_mb = 262144, disk_gb = 1000 }}]

[cells.z2]
parent = "r1"
driver = "fake"
hosts = [{{ name = "h2", vcpus = 512, memory_mb = 262144, disk_gb = 1000 }}]
"""


def start(tmp: Path, pg_schemas: Callable[[], str]) -> TreeRunner:
    (tmp / "tree.toml").write_text(TREE.format(top=pg_schemas(), r1=pg_schemas()))
    runner = TreeRunner(load_tree(tmp / "tree.toml"), tmp / "state")
    runner.start(timeout=60)
    return runner


def at_leaves(runner: TreeRunner) -> list[Instance]:
    found: list[Instance] = []
    for leaf in ("z1", "z2"):
        with CellClient(runner.addresses[leaf], timeout=10) as client:
            found += client.list(ListQuery(limit=1000)).instances
    return found


BOOTS = 500
ROUNDS = 4  # each kills one top replica and one middle replica
BATCH = 32  # boots handed out after each round, and again whenever all are done
STEP = 16  # boots completed since the last round before the next


class Paced:
    """The boots as the killer sees them. A boot starts only with a ticket, and
    the killer hands them out, so that however fast or slow the machine, boots
    are under way at each round of kills and some complete in between."""

    def __init__(self) -> None:
        self.tickets = threading.Semaphore(0)
        self.released = self.started = self.done = 0
        self.moved = threading.Condition()  # a boot started or completed

    def release(self, count: int) -> None:
        with self.moved:
            count = min(count, BOOTS - self.released)
            self.released += count
        self.tickets.release(count)

    def begin(self) -> None:
        self.tickets.acquire()
        with self.moved:
            self.started += 1
            self.moved.notify_all()

    def end(self) -> None:
        with self.moved:
            self.done += 1
            self.moved.notify_all()

    def under_way_since(self, since: int) -> None:
        """Wait until STEP boots completed after `since` completions and others are
        still under way, handing out more boots whenever all handed out are done."""
        with self.moved:
            while not (self.done >= since + STEP and self.started > self.done):
                if self.done == self.released:
                    assert self.released < BOOTS, "the boots ran out before the last round"
                    self.release(BATCH)
                assert self.moved.wait(PATIENCE), "no boot started or completed"


def serves(runner: TreeRunner, process: str) -> bool:
    """The process `process` answers, with every cell below its cell registered
    with it and up (a child registers with each replica of its parent)."""
    paths = runner.spec.paths()
    mine = paths[process.split(".")[0]]
    below = {name for name, path in paths.items()
             if path == mine or path.startswith(mine + "!")}
    try:
        with CellClient(runner.address_of(process), timeout=10) as client:
            node = client.topology()
    except CellError:
        return False
    nodes = {n.name: n for n in node.walk()}
    return nodes.keys() == below and all(
        n.up and not n.unreachable and n.path == paths[n.name] for n in nodes.values())


@pytest.mark.postgres
def test_replicas_lose_nothing_while_one_of_each_is_killed_and_restarted(
        tmp_path: Path, pg_schemas: Callable[[], str]) -> None:
    runner = start(tmp_path, pg_schemas)
    try:
        assert len(split_addresses(runner.top_address)) == 2
        paced = Paced()
        kills: list[str] = []

        def killer() -> None:
            # SIGKILL one top and one middle replica while boots are under way,
            # restart them, and wait until they serve again: one of each is
            # always there. ROUNDS times, paced by the boots, not the clock.
            chaos = random.Random(7)
            try:
                paced.release(BATCH)
                since = 0
                for _ in range(ROUNDS):
                    paced.under_way_since(since)
                    since = paced.done
                    victims = ("top.r2", chaos.choice(["r1", "r1.r2"]))
                    for key in victims:
                        runner.kill_cell(key)
                        kills.append(key)
                        runner.start_cell(key)
                    paced.release(BATCH)  # boots that meet a replica down
                    for key in victims:
                        assert eventually(partial(serves, runner, key), timeout=PATIENCE,
                                          step=0.1), f"{key} did not serve again"
            finally:
                paced.release(BOOTS)  # the rest, or all of them if this failed

        def work(n: int) -> Instance:
            paced.begin()
            try:
                with CellClient(runner.top_address, timeout=PATIENCE) as top:
                    instance = top.boot(boot_spec(f"rep-{n}", 1, 256, request_id=f"rep-{n}"))
                    top.get(instance.uuid)  # reads, too, ride out a replica's loss
                    # An action whose answer was lost with a replica is sent again with
                    # its request id, and applied once (a second pause would be refused).
                    assert top.pause(instance.uuid, wait=True).state is InstanceState.PAUSED
                    return instance
            finally:
                paced.end()

        with ThreadPoolExecutor(1) as chaos_pool:
            chaos = chaos_pool.submit(killer)
            with ThreadPoolExecutor(16) as pool:
                booted = list(pool.map(work, range(BOOTS)))  # any error fails the test
            chaos.result()
        assert len(kills) == 2 * ROUNDS
        print(f"{len(kills)} kills; {BOOTS} boots and pauses, none failed")
        assert len({i.uuid for i in booted}) == BOOTS
        eventually(lambda: len(at_leaves(runner)) == BOOTS, timeout=PATIENCE)
        leaves = at_leaves(runner)
        ids = [i.request_id for i in leaves]
        assert len(leaves) == BOOTS, (len(leaves), sorted({r for r in ids if ids.count(r) > 1}))
        assert sorted(ids) == sorted(f"rep-{n}" for n in range(BOOTS))
        runner.wait_registered(PATIENCE)
        for address in split_addresses(runner.addresses["top"]):  # each top replica
            with CellClient(address, timeout=10) as top:
                for instance in booted[::25]:
                    assert top.locate(instance.uuid).cell_path == instance.cell_path
    finally:
        runner.stop()


@pytest.mark.postgres
def test_a_location_one_replica_changed_is_not_served_stale_by_the_other(
        tmp_path: Path, pg_schemas: Callable[[], str]) -> None:
    runner = start(tmp_path, pg_schemas)
    try:
        one, other = split_addresses(runner.addresses["top"])
        with CellClient(one, timeout=10) as first, CellClient(other, timeout=10) as second:
            gone = first.boot(boot_spec("stale", 1, 256))
            assert second.get(gone.uuid).uuid == gone.uuid  # in the other's cache now
            first.delete(gone.uuid, wait=True)
            fresh = first.boot(boot_spec("stale", 1, 256))  # reusing nothing
            with pytest.raises(NotFound):
                second.pause(gone.uuid, wait=True)
            assert second.get(fresh.uuid).state is InstanceState.ACTIVE  # untouched
    finally:
        runner.stop()


@pytest.mark.postgres
def test_the_same_boot_at_two_replicas_at_once_builds_one_instance(
        tmp_path: Path, pg_schemas: Callable[[], str]) -> None:
    runner = start(tmp_path, pg_schemas)
    try:
        tops = split_addresses(runner.addresses["top"])
        with CellClient(runner.top_address, timeout=10) as top:
            (r1,) = top.topology().children  # the tree shows the middle cell's replicas
        assert sorted(r.address for r in r1.replicas) == sorted(
            split_addresses(runner.addresses["r1"]))
        for n in range(10):
            rid = f"twice-{uuidlib.uuid4()}"
            barrier = threading.Barrier(2)

            def boot(address: str, rid: str = rid, barrier: threading.Barrier = barrier,
                     n: int = n) -> Instance:
                with CellClient(address, timeout=20) as top:
                    top.wait_ready()
                    barrier.wait()
                    return top.boot(boot_spec(f"twice-{n}", 1, 256, request_id=rid))

            with ThreadPoolExecutor(2) as pool:
                first, second = pool.map(boot, tops)
            assert first.uuid == second.uuid
        assert eventually(lambda: len(at_leaves(runner)) == 10)
        assert len({i.request_id for i in at_leaves(runner)}) == 10
    finally:
        runner.stop()


def test_replicas_on_sqlite_are_refused_with_the_reason(tmp_path: Path) -> None:
    text = TREE.format(top="", r1="").replace('database_url = ""\n', "")
    (tmp_path / "tree.toml").write_text(text)
    with pytest.raises(ConfigError, match="share one PostgreSQL database"):
        load_tree(tmp_path / "tree.toml")


STANDBY_TREE = """
[tree]
insecure = true
report_interval = 0.2
# A parent marks a child down after 5 s of silence, not 0.6 s: these tests
# kill one replica of a cell at a time, and a loaded machine may delay the
# other's reports past a short bound (then boots would find no cell up).
down_after = 25

[cells.top]

[cells.z1]
parent = "top"
driver = "fake"
replicas = 2
database_url = "{z1}"
hosts = [{{ name = "h1", vcpus = 512, memory_mb = 262144, disk_gb = 1000 }}]
"""


def z1_processes(top: CellClient) -> dict[str, bool]:
    """The processes of the leaf z1 as the top's topology lists them: address →
    standing by?"""
    z1 = next(c for c in top.topology().children if c.name == "z1")
    return {r.address: r.standby for r in z1.replicas}


@pytest.mark.postgres
def test_a_leafs_standby_takes_over_when_the_active_process_dies(
        tmp_path: Path, pg_schemas: Callable[[], str]) -> None:
    (tmp_path / "tree.toml").write_text(STANDBY_TREE.format(z1=pg_schemas()))
    runner = TreeRunner(load_tree(tmp_path / "tree.toml"), tmp_path / "state")
    runner.start(timeout=60)
    try:
        with CellClient(runner.top_address, timeout=10) as top:
            booted = [top.boot(boot_spec(f"sb-{n}", 1, 256)) for n in range(5)]
            first = runner.active("z1")
            other = next(p for p in ("z1", "z1.r2") if p != first)
            # The topology (and so `cellrouter tree`) shows which process acts.
            assert eventually(lambda: z1_processes(top) == {
                runner.address_of(first): False, runner.address_of(other): True}, timeout=10)
            runner.kill_cell(first)  # SIGKILL: its session, and the lock, go with it
            killed = time.monotonic()

            def pauses() -> bool:
                try:
                    return top.pause(booted[0].uuid, wait=True).state is InstanceState.PAUSED
                except CellError:
                    return False

            assert eventually(pauses)
            print(f"standby took over and acted {time.monotonic() - killed:.1f} s after the kill")
            assert runner.active("z1") == other
            # The standby that took over is listed as one of the leaf's processes.
            assert eventually(lambda: z1_processes(top).get(runner.address_of(other)) is False,
                              timeout=10)
            listed = top.list(ListQuery(name_prefix="sb-")).instances
            assert sorted(i.uuid for i in listed) == sorted(i.uuid for i in booted)
            assert top.boot(boot_spec("sb-after", 1, 256)).cell_path == "top!z1"
    finally:
        runner.stop()


@pytest.mark.postgres
def test_a_standby_settles_the_boots_the_active_process_left_pending(
        tmp_path: Path, pg_schemas: Callable[[], str]) -> None:
    url = pg_schemas()
    (tmp_path / "tree.toml").write_text(STANDBY_TREE.format(z1=url))
    runner = TreeRunner(load_tree(tmp_path / "tree.toml"), tmp_path / "state")
    runner.start(timeout=60)
    index = LocationIndex.open(url)  # the leaf's own database, as its processes share it
    try:
        with CellClient(runner.top_address, timeout=10) as top:
            built = top.boot(boot_spec("sb-built", 1, 256))
        # As if the active process died mid-boot: one boot the hypervisor has,
        # one it never started.
        row = index.lookup_uncached(built.uuid)
        assert row is not None
        index.record(replace(row, pending=True, state="BUILDING"))
        ghost = str(uuidlib.uuid4())
        index.record(replace(row, uuid=ghost, request_id=f"ghost-{ghost}", pending=True))
        runner.kill_cell(runner.active("z1"))

        def settled() -> bool:
            done = index.lookup_uncached(built.uuid)
            return (index.lookup_uncached(ghost) is None and done is not None
                    and not done.pending and done.state == "ACTIVE")

        assert eventually(settled)
    finally:
        index.close()
        runner.stop()

