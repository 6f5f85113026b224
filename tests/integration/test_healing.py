"""The location index heals itself, and calls survive a lost answer, in real trees."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cellops.tree import TreeRunner
from cellwire.client import CellClient, boot_spec
from model.cells import ListQuery
from model.compute import InstanceState
from model.errors import Unavailable
from routing.index import LocationIndex
from tests.integration.conftest import PATIENCE, TREE, leaf_client, start_tree
from tests.integration.proxy import LossyProxy


def _index_of(runner: TreeRunner, cell: str) -> LocationIndex:
    return LocationIndex.open(f"sqlite:///{runner.state_dir / cell / 'cell.db'}")


def test_wiped_middle_index_refills_from_the_children(private_tree: TreeRunner) -> None:
    with CellClient(private_tree.top_address, timeout=10) as top:
        booted = [top.boot(boot_spec(f"w-{i}", 1, 256, target_cell="top!r1")) for i in range(5)]
        private_tree.kill_cell("r1", signal.SIGTERM)
        for leftover in (private_tree.state_dir / "r1").glob("cell.db*"):
            leftover.unlink()
        private_tree.start_cell("r1")
        private_tree.wait_registered(PATIENCE)

        for instance in booted:
            assert top.pause(instance.uuid, wait=True).state is InstanceState.PAUSED
    index = _index_of(private_tree, "r1")
    try:
        for instance in booted:
            row = index.lookup_uncached(instance.uuid)
            assert row is not None, instance.uuid
            assert row.child == instance.cell_path.rsplit("!", 1)[1]
    finally:
        index.close()


def test_record_pointing_at_the_wrong_child_is_corrected(private_tree: TreeRunner) -> None:
    with CellClient(private_tree.top_address, timeout=10) as top:
        instance = top.boot(boot_spec("misfiled", 1, 256, target_cell="top!r1"))
        private_tree.kill_cell("top", signal.SIGTERM)
        index = _index_of(private_tree, "top")
        try:
            with index.engine.begin() as conn:
                conn.exec_driver_sql(
                    "UPDATE locations SET child = 'r2', cell_path = '' WHERE uuid = ?",
                    (instance.uuid,),
                )
        finally:
            index.close()
        private_tree.start_cell("top")
        private_tree.wait_registered(PATIENCE)

        assert top.stop(instance.uuid, wait=True).state is InstanceState.STOPPED
    index = _index_of(private_tree, "top")
    try:
        row = index.lookup_uncached(instance.uuid)
        assert row is not None and row.child == "r1"
    finally:
        index.close()


def test_boot_whose_answer_was_lost_is_retried_without_a_duplicate(tmp_path: Path) -> None:
    runner: TreeRunner | None = None
    proxy = LossyProxy(lambda: runner.addresses["r2"] if runner else "")
    text = TREE.replace('[cells.r2]\nparent = "top"',
                        f'[cells.r2]\nparent = "top"\nadvertise = "{proxy.address}"')
    assert text != TREE
    (tmp_path / "tree.toml").write_text(text)
    from cellops.tree_spec import load_tree

    runner = TreeRunner(load_tree(tmp_path / "tree.toml"), tmp_path / "state")
    try:
        runner.start(timeout=60)
        with CellClient(runner.top_address, timeout=15) as top:
            proxy.lose_next_reply()
            instance = top.boot(boot_spec("once", 1, 256, target_cell="top!r2"))
            assert proxy.cut == 1  # the first answer really was lost
            named = top.list(ListQuery(name_prefix="once")).instances
            assert [i.uuid for i in named] == [instance.uuid]
            with leaf_client(runner, "top!r2!z3") as leaf:
                assert [i.uuid for i in leaf.list(ListQuery(name_prefix="once")).instances] == [
                    instance.uuid
                ]
    finally:
        runner.stop()
        proxy.close()


DIRECT_TREE = TREE.replace("[cells.top]", "[cells.top]\ndirect_to_leaf = true")


def test_direct_to_leaf_reaches_a_leaf_whose_parent_is_down(tmp_path: Path) -> None:
    assert DIRECT_TREE != TREE
    runner = start_tree(tmp_path, DIRECT_TREE)
    try:
        with CellClient(runner.top_address, timeout=10) as top:
            instance = top.boot(boot_spec("direct", 1, 256, target_cell="top!r2!z3"))
            # The top knows z3's address: start_tree waited until the top counted
            # z3's hosts, and the report of r2 that brought them named the leaves
            # below it, with their addresses, too.
            runner.kill_cell("r2", signal.SIGKILL)
            # r2 is gone: only a call straight to the leaf can do this.
            assert top.pause(instance.uuid, wait=True).state is InstanceState.PAUSED
            assert top.get(instance.uuid).state is InstanceState.PAUSED
    finally:
        runner.stop()


def test_without_the_shortcut_a_down_parent_blocks_the_call(private_tree: TreeRunner) -> None:
    with CellClient(private_tree.top_address, timeout=10) as top:
        instance = top.boot(boot_spec("hop", 1, 256, target_cell="top!r2!z3"))
        private_tree.kill_cell("r2", signal.SIGKILL)
        with pytest.raises(Unavailable, match=r"top!r2"):
            top.pause(instance.uuid, wait=True)


def test_concurrent_boots_and_lists_stay_consistent(private_tree: TreeRunner) -> None:
    with CellClient(private_tree.top_address, timeout=20) as top, ThreadPoolExecutor(8) as pool:
        booted = list(pool.map(lambda i: top.boot(boot_spec(f"c-{i:02}", 1, 128)).uuid,
                               range(24)))
        listed = [i.uuid for i in top.list(ListQuery(name_prefix="c-")).instances]
        assert sorted(listed) == sorted(booted)
