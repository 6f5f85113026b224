"""Router cells as several processes over one PostgreSQL database: replicas of
the top and of a region, children reporting to each, clients given every
replica's address."""

from __future__ import annotations

import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cells.client import CellClient, boot_spec, split_addresses
from cells.errors import ConfigError
from cells.ops.tree import TreeRunner, load_tree
from model.cells import ListQuery
from model.compute import Instance, InstanceState
from model.errors import CellError
from tests.integration.conftest import eventually

TREE = """
[tree]
insecure = true
report_interval = 0.2
down_after = 3

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
hosts = [{{ name = "h1", vcpus = 64, memory_mb = 131072, disk_gb = 1000 }}]

[cells.z2]
parent = "r1"
driver = "fake"
hosts = [{{ name = "h2", vcpus = 64, memory_mb = 131072, disk_gb = 1000 }}]
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


@pytest.mark.postgres
def test_replicas_route_and_a_client_rides_out_the_loss_of_one(
        tmp_path: Path, pg_schemas: Callable[[], str]) -> None:
    runner = start(tmp_path, pg_schemas)
    try:
        assert len(split_addresses(runner.top_address)) == 2
        killed = threading.Event()

        def boot(n: int) -> Instance:
            if n == 40:
                runner.kill_cell("top.r2")  # SIGKILL, with boots in flight
                runner.kill_cell("r1")
                killed.set()
            with CellClient(runner.top_address, timeout=20) as top:
                return top.boot(boot_spec(f"rep-{n}", 1, 256, request_id=f"rep-{n}"))

        with ThreadPoolExecutor(8) as pool:
            booted = list(pool.map(boot, range(100)))  # any error fails the test
        assert killed.is_set()
        assert len({i.uuid for i in booted}) == 100
        eventually(lambda: len(at_leaves(runner)) == 100, timeout=20)
        leaves = at_leaves(runner)
        ids = [i.request_id for i in leaves]
        assert len(leaves) == 100, (len(leaves), [(i.uuid, i.cell_path, i.created_at)
                                                  for i in leaves if ids.count(i.request_id) > 1],
                                    sorted({f"rep-{n}" for n in range(100)} - set(ids)))
        assert sorted(i.request_id for i in leaves) == sorted(f"rep-{n}" for n in range(100))
        for address in split_addresses(runner.addresses["top"])[:1]:  # the one left
            with CellClient(address, timeout=10) as top:
                for instance in booted[:20]:
                    assert top.locate(instance.uuid).cell_path == instance.cell_path
    finally:
        runner.stop()


@pytest.mark.postgres
def test_the_same_boot_at_two_replicas_at_once_builds_one_instance(
        tmp_path: Path, pg_schemas: Callable[[], str]) -> None:
    runner = start(tmp_path, pg_schemas)
    try:
        tops = split_addresses(runner.addresses["top"])
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
        assert eventually(lambda: len(at_leaves(runner)) == 10, timeout=20)
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
down_after = 3

[cells.top]

[cells.z1]
parent = "top"
driver = "fake"
replicas = 2
database_url = "{z1}"
hosts = [{{ name = "h1", vcpus = 64, memory_mb = 131072, disk_gb = 1000 }}]
"""


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
            runner.kill_cell(first)  # SIGKILL: its session, and the lock, go with it
            killed = time.monotonic()

            def pauses() -> bool:
                try:
                    return top.pause(booted[0].uuid, wait=True).state is InstanceState.PAUSED
                except CellError:
                    return False

            assert eventually(pauses, timeout=30)
            print(f"standby took over and acted {time.monotonic() - killed:.1f} s after the kill")
            assert runner.active("z1") != first
            listed = top.list(ListQuery(name_prefix="sb-")).instances
            assert sorted(i.uuid for i in listed) == sorted(i.uuid for i in booted)
            assert top.boot(boot_spec("sb-after", 1, 256)).cell_path == "top!z1"
    finally:
        runner.stop()
