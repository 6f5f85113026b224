"""A parent reconciles its index with a child's records when the child registers again."""

from __future__ import annotations

import signal
import time
import uuid as uuidlib
from pathlib import Path

from sqlalchemy import delete

from cellwire.client import CellClient, boot_spec
from model.compute import InstanceState
from routing.index import Location, LocationIndex
from routing.tables import children as children_table
from tests.integration.conftest import HEAD, PATIENCE, eventually, start_tree

TREE = HEAD + """
[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{ name = "h1", vcpus = 16, memory_mb = 32768, disk_gb = 100 }]
"""


def test_a_parent_that_lost_its_records_gets_them_back_from_its_child(tmp_path: Path) -> None:
    runner = start_tree(tmp_path, TREE)
    db = f"sqlite:///{runner.state_dir / 'top' / 'cell.db'}"
    try:
        with CellClient(runner.top_address) as top:
            vms = [top.boot(boot_spec(f"vm-{n}", 1, 512)) for n in range(3)]
        runner.kill_cell("top", signal.SIGTERM)
        # While the top is down its database loses a row and the record of its child,
        # and gains a row for an instance that exists nowhere.
        ghost = str(uuidlib.uuid4())
        index = LocationIndex.open(db)
        try:
            index.forget(vms[0].uuid)
            index.record(Location(ghost, "r1", "top!r1!z1", "h1", "p",
                                  InstanceState.ACTIVE.value, None, pending=False,
                                  name="ghost", created_at=time.time()))
            with index.engine.begin() as conn:
                conn.execute(delete(children_table))
        finally:
            index.close()
        runner.start_cell("top")
        runner.wait_registered(PATIENCE)  # r1 was told to register again

        def reconciled() -> bool:
            check = LocationIndex.open(db)
            try:
                rows = {loc.uuid: loc for loc in check.in_child("r1")}
            finally:
                check.close()
            return set(rows) == {vm.uuid for vm in vms} and all(
                rows[vm.uuid].cell_path == "top!r1!z1" and not rows[vm.uuid].pending
                for vm in vms)

        assert eventually(reconciled)
    finally:
        runner.stop()
