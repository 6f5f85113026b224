"""Cells that stop, restart and come back, in a tree of processes."""

from __future__ import annotations

import signal
import time

import pytest

from cells.client import CellClient, boot_spec
from cells.ops.tree import TreeRunner
from model.compute import InstanceState
from model.errors import Unavailable
from tests.integration.conftest import eventually


def _wait_down(top: CellClient, path: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(n.path == path and not n.up for n in top.topology().walk()):
            return True
        time.sleep(0.1)
    return False


def test_restarted_middle_cell_routes_from_its_records(private_tree: TreeRunner) -> None:
    with CellClient(private_tree.top_address, timeout=10) as top:
        booted = [top.boot(boot_spec(f"keep-{i}", 1, 256, target_cell="top!r1"))
                  for i in range(4)]
        private_tree.restart_cell("r1")
        for instance in booted:
            assert top.pause(instance.uuid, wait=True).state is InstanceState.PAUSED
            assert top.get(instance.uuid).cell_path == instance.cell_path
        # The restarted cell still places new instances too.
        assert top.boot(boot_spec("after", 1, 256, target_cell="top!r1")).cell_path


def test_down_leaf_fails_fast_and_comes_back(private_tree: TreeRunner) -> None:
    with CellClient(private_tree.top_address, timeout=10) as top:
        instance = top.boot(boot_spec("lonely", 1, 256, target_cell="top!r2!z3"))
        private_tree.kill_cell("z3", signal.SIGKILL)
        with pytest.raises(Unavailable, match=r"cell top!r2!z3 \(.*\) is unreachable"):
            top.pause(instance.uuid, wait=True)  # before r2 has noticed
        assert _wait_down(top, "top!r2!z3")
        time.sleep(3 * 0.2 + 0.5)  # r2 marks z3 down after 3 missed reports

        started = time.monotonic()
        with pytest.raises(Unavailable, match=r"top!r2!z3 is down"):
            top.pause(instance.uuid, wait=True)
        assert time.monotonic() - started < 5  # failed fast, not at the 10 s timeout

        # Placement skips the down cell: r2 has nothing else, so boots go to r1.
        other = top.boot(boot_spec("elsewhere", 1, 256))
        assert other.cell_path.startswith("top!r1!")

        private_tree.start_cell("z3")
        private_tree.wait_registered(30)

        # r2's channel to z3 may still wait out gRPC's reconnect backoff for a
        # moment: the pause is refused as unreachable (never sent) until then.
        def paused() -> bool:
            try:
                return top.pause(instance.uuid, wait=True).state is InstanceState.PAUSED
            except Unavailable as exc:
                if "unreachable" not in exc.message:
                    raise
                return False

        assert eventually(paused, timeout=10)


def test_down_child_is_excluded_from_placement_with_a_reason(
    private_tree: TreeRunner,
) -> None:
    with CellClient(private_tree.top_address, timeout=10) as top:
        private_tree.kill_cell("r2", signal.SIGKILL)
        assert _wait_down(top, "top!r2")
        with pytest.raises(Exception, match=r"RESOURCE_EXHAUSTED|UNAVAILABLE") as caught:
            top.boot(boot_spec("nowhere", 1, 256, target_cell="top!r2"))
        assert "top!r2" in str(caught.value)
