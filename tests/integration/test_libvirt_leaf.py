"""Leaves on real libvirt (libvirt-python on libvirt's test driver), under cell processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cellops.tree import TreeRunner, free_ports
from cells.config import from_mapping
from cells.embed import EmbeddedCell
from cellwire.client import CellClient, boot_spec
from model.compute import Action, InstanceState
from model.errors import FailedPrecondition
from routing.index import LocationIndex
from tests.integration.conftest import HEAD, PATIENCE, eventually, start_tree

libvirt = pytest.importorskip("libvirt", reason="libvirt-python is not installed")
REPORT = 3600.0  # seconds between a quiet leaf's reports in the test of events

LIBVIRT_TREE = HEAD + """
[cells.z1]
parent = "r1"
driver = "libvirt"
hosts = [
  { name = "lv-small", vcpus = 2, memory_mb = 2048, disk_gb = 20 },
  { name = "lv-large", vcpus = 8, memory_mb = 16384, disk_gb = 200 },
]
"""


@pytest.fixture(scope="module")
def libvirt_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_tree(tmp_path_factory.mktemp("libvirt"), LIBVIRT_TREE)
    yield runner
    runner.stop()


def test_hosts_of_different_sizes_under_one_leaf(libvirt_tree: TreeRunner) -> None:
    with CellClient(libvirt_tree.top_address) as top:
        leaf = next(n for n in top.topology().walk() if n.path == "top!r1!z1")
    sizes = {h.name: h.capacity.total for h in leaf.hosts}
    assert sizes["lv-small"].vcpus == 2 and sizes["lv-large"].vcpus == 8
    assert sizes["lv-large"].memory_mb == 16384


def test_every_action_through_the_top_on_libvirt(libvirt_tree: TreeRunner) -> None:
    with CellClient(libvirt_tree.top_address) as top:
        big = top.boot(boot_spec("big", 4, 4096, 10))
        assert big.host == "lv-large"  # only it has 4 vCPUs
        for action, state in [(Action.PAUSE, InstanceState.PAUSED),
                              (Action.UNPAUSE, InstanceState.ACTIVE),
                              (Action.SUSPEND, InstanceState.SUSPENDED),
                              (Action.RESUME, InstanceState.ACTIVE),
                              (Action.REBOOT_HARD, InstanceState.ACTIVE),
                              (Action.STOP, InstanceState.STOPPED),
                              (Action.START, InstanceState.ACTIVE)]:
            assert top.act(big.uuid, action, wait=True).state is state
        assert top.delete(big.uuid, wait=True).state is InstanceState.DELETED


def test_a_libvirt_leaf_refuses_shelving_naming_itself(libvirt_tree: TreeRunner) -> None:
    with CellClient(libvirt_tree.top_address) as top:
        made = top.boot(boot_spec("kept", 1, 512, 1))
        for action in (Action.SHELVE, Action.SHELVE_OFFLOAD, Action.UNSHELVE):
            with pytest.raises(FailedPrecondition, match=f"cell top!r1!z1 cannot {action.value}"):
                top.act(made.uuid, action, wait=True)
        assert top.get(made.uuid).state is InstanceState.ACTIVE
        top.delete(made.uuid, wait=True)




def test_a_change_made_behind_cellrouters_back_reaches_the_top(tmp_path: Path) -> None:
    """The leaf runs in this process (a test-driver node lives in the process
    that opened it), so the test can act on the domain directly, as an
    operator would with virsh; top and region are separate processes."""
    top_port, r1_port = free_ports("127.0.0.1", 2)
    procs = []
    try:
        for name, port, parent in (("top", top_port, ""), ("r1", r1_port, f"127.0.0.1:{top_port}")):
            cell_dir = tmp_path / name
            cell_dir.mkdir()
            lines = ["[cell]", f'name = "{name}"', f'listen = "127.0.0.1:{port}"',
                     f'state_dir = "{cell_dir}"', "report_interval = 0.2", "insecure = true"]
            if parent:
                # It counts z1 down only after 10,000 missed reports of its own
                # interval (about half an hour), long after the test.
                lines += [f'parent = "{parent}"', "down_after = 10000"]
            (cell_dir / "cell.toml").write_text("\n".join(lines) + "\n")
            command = [sys.executable, "-m", "cellops.cli", "serve",
                       "--config", str(cell_dir / "cell.toml")]
            procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        # The leaf reports when something changed, else every REPORT seconds, longer
        # than the test: whatever of its instances reaches the top, libvirt's
        # event brought, however long it took. (Its first Register must find r1
        # up: after a failure it tries again one interval later.)
        with CellClient(f"127.0.0.1:{r1_port}") as r1:
            r1.wait_ready(PATIENCE)
        leaf_config = from_mapping({
            "cell": {"name": "z1", "listen": "127.0.0.1:0", "state_dir": str(tmp_path / "z1"),
                     "parent": f"127.0.0.1:{r1_port}", "report_interval": REPORT,
                     "insecure": True},
            "leaf": {"driver": "libvirt",
                     "hosts": [{"name": "h1", "vcpus": 4, "memory_mb": 4096, "disk_gb": 40}]},
        })
        with EmbeddedCell(leaf_config) as leaf, CellClient(f"127.0.0.1:{top_port}") as top:
            # Up, and its capacity reported all the way to the top.
            assert eventually(lambda: top.topology().capacity.hosts == 1, timeout=PATIENCE)
            vm = top.boot(boot_spec("behind", 1, 512))
            driver = leaf.server.backend._driver  # type: ignore[union-attr]
            domain = driver.connection("h1").lookupByUUIDString(vm.uuid)
            domain.suspend()  # an operator pauses it directly

            top_db = LocationIndex.open(f"sqlite:///{tmp_path / 'top' / 'cell.db'}")
            try:
                assert eventually(
                    lambda: (row := top_db.lookup_uncached(vm.uuid)) is not None
                    and row.state == "PAUSED",
                    timeout=PATIENCE,
                )
                assert top.get(vm.uuid).state is InstanceState.PAUSED
                domain.destroy()
                domain.undefine()  # ... and then removes it altogether
                assert eventually(lambda: top_db.lookup_uncached(vm.uuid) is None,
                                  timeout=PATIENCE)
            finally:
                top_db.close()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
