"""Cells that stop, restart and come back, in a tree of processes."""

from __future__ import annotations

import signal
import time

import pytest

from cellops.tree import TreeRunner
from cellwire.client import CellClient, boot_spec
from model.compute import InstanceState
from model.errors import Unavailable
from tests.integration.conftest import PATIENCE, eventually, seen_down


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
        # Refused, naming the cell: as unreachable while r2 has not noticed, or as
        # down once the retries of the (idempotent) pause have outlasted that.
        with pytest.raises(Unavailable,
                           match=r"cell top!r2!z3 (\(.*\) is unreachable|is down)"):
            top.pause(instance.uuid, wait=True)
        # r2 marks z3 down after 3 missed reports.
        assert eventually(lambda: seen_down(top, "top!r2!z3"), timeout=PATIENCE)

        # Refused at once as down, not waited out to the call's deadline.
        with CellClient(private_tree.top_address, timeout=PATIENCE) as patient:
            started = time.monotonic()
            with pytest.raises(Unavailable, match=r"top!r2!z3 is down"):
                patient.pause(instance.uuid, wait=True)
            assert time.monotonic() - started < PATIENCE / 2

        # Placement skips the down cell: r2 has nothing else, so boots go to r1.
        other = top.boot(boot_spec("elsewhere", 1, 256))
        assert other.cell_path.startswith("top!r1!")

        private_tree.start_cell("z3")
        private_tree.wait_registered(PATIENCE)

        # r2's channel to z3 may still wait out gRPC's reconnect backoff for a
        # moment: the pause is refused as unreachable (never sent) until then.
        def paused() -> bool:
            try:
                return top.pause(instance.uuid, wait=True).state is InstanceState.PAUSED
            except Unavailable as exc:
                if "unreachable" not in exc.message:
                    raise
                return False

        assert eventually(paused, timeout=PATIENCE)


def test_down_child_is_excluded_from_placement_with_a_reason(
    private_tree: TreeRunner,
) -> None:
    with CellClient(private_tree.top_address, timeout=10) as top:
        private_tree.kill_cell("r2", signal.SIGKILL)
        assert eventually(lambda: seen_down(top, "top!r2"), timeout=PATIENCE)
        with pytest.raises(Exception, match=r"RESOURCE_EXHAUSTED|UNAVAILABLE") as caught:
            top.boot(boot_spec("nowhere", 1, 256, target_cell="top!r2"))
        assert "top!r2" in str(caught.value)
