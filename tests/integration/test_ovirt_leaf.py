"""An oVirt leaf beside a libvirt leaf, under cell processes, with the fake engine as its
own process speaking HTTP to the official SDK."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cellops.tree import TreeRunner
from cellwire.client import CellClient, boot_spec
from model.cells import ListQuery
from model.compute import InstanceState
from model.errors import FailedPrecondition
from tests.integration.conftest import HEAD, PATIENCE, eventually, seen_down, start_tree

sdk = pytest.importorskip("ovirtsdk4", reason="ovirt-engine-sdk-python is not installed")


@contextlib.contextmanager
def engine_process() -> Iterator[str]:
    """A fake engine as its own process; yields its API URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "virt.fake_ovirt", "--listen", "127.0.0.1:0",
         "--transition-delay", "0.02"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("engine: "), line
        yield line.split(" ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def engine() -> Iterator[str]:
    with engine_process() as url:
        yield url


def ovirt_cell(name: str, engine: str, secret: Path) -> str:
    secret.write_text("secret\n")
    return f"""
[cells.{name}]
parent = "r1"
driver = "ovirt"
url = "{engine}"
username = "admin@internal"
password_file = "{secret}"
insecure = true
disk_gb = 100
settle_timeout = 10.0
adopt_prefix = "legacy-"
"""


@pytest.fixture(scope="module")
def mixed(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    tmp = tmp_path_factory.mktemp("mixed")
    tree = HEAD + """
[cells.z1]
parent = "r1"
driver = "libvirt"
hosts = [{ name = "kvm-1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
""" + ovirt_cell("z2", engine, tmp / "engine-password")
    runner = start_tree(tmp, tree)
    yield runner
    runner.stop()


def test_list_locate_and_act_across_libvirt_and_ovirt(mixed: TreeRunner) -> None:
    with CellClient(mixed.top_address, timeout=30) as top:
        on_kvm = top.boot(boot_spec("on-kvm", 1, 512, target_cell="top!r1!z1"))
        on_ovirt = top.boot(boot_spec("on-ovirt", 1, 512, target_cell="top!r1!z2"))
        listed = {i.name: i.cell_path for i in top.list(ListQuery(name_prefix="on-")).instances}
        assert listed == {"on-kvm": "top!r1!z1", "on-ovirt": "top!r1!z2"}
        assert top.locate(on_ovirt.uuid).cell_path == "top!r1!z2"

        assert top.pause(on_kvm.uuid, wait=True).state is InstanceState.PAUSED
        with pytest.raises(FailedPrecondition) as refused:
            top.pause(on_ovirt.uuid, wait=True)
        assert "no pause" in refused.value.message and "top!r1!z2" in refused.value.message
        assert top.get(on_ovirt.uuid).state is InstanceState.ACTIVE  # unchanged

        assert top.suspend(on_ovirt.uuid, wait=True).state is InstanceState.SUSPENDED
        assert top.resume(on_ovirt.uuid, wait=True).state is InstanceState.ACTIVE
        for vm in (on_kvm, on_ovirt):
            assert top.delete(vm.uuid, wait=True).state is InstanceState.DELETED


def test_the_tree_shows_what_each_cell_can_do(mixed: TreeRunner) -> None:
    with CellClient(mixed.top_address) as top:
        cells = {n.path: set(n.capabilities) for n in top.topology().walk()}
    assert "pause" in cells["top!r1!z1"]
    assert "pause" not in cells["top!r1!z2"] and "suspend" in cells["top!r1!z2"]
    # A router can do what every leaf below it can: all but pause and unpause here.
    assert cells["top"] == cells["top!r1"] == cells["top!r1!z1"] - {"pause", "unpause"}
    table = subprocess.run([sys.executable, "-m", "cellops.cli", "tree", "--cell",
                            mixed.top_address], capture_output=True, text=True, timeout=60)
    assert "no pause,shelve,shelve_offload,unpause,unshelve" in table.stdout


def test_a_vm_made_on_the_engine_is_adopted(mixed: TreeRunner, engine: str) -> None:
    import ovirtsdk4.types as otypes

    connection = sdk.Connection(url=engine, username="admin@internal", password="secret",
                                insecure=True)
    try:
        vm = connection.system_service().vms_service().add(otypes.Vm(
            name="legacy-erp", cluster=otypes.Cluster(name="Default"),
            template=otypes.Template(name="Blank"), memory=256 * 1024 * 1024))
    finally:
        connection.close()
    with CellClient(mixed.top_address, timeout=30) as top:
        assert eventually(lambda: any(
            i.uuid == vm.id for i in top.list(ListQuery(name_prefix="legacy-")).instances))
        # Not in any index yet: the top finds it by asking its children.
        assert top.locate(vm.id).cell_path == "top!r1!z2"
        assert top.start(vm.id, wait=True).state is InstanceState.ACTIVE
        assert top.stop(vm.id, wait=True).state is InstanceState.STOPPED




def test_the_top_refuses_pause_itself_even_with_the_leaf_down(mixed: TreeRunner) -> None:
    """The top knows each leaf's actions from the reports: it refuses without routing."""
    with CellClient(mixed.top_address, timeout=30) as top:
        vm = top.boot(boot_spec("refused-at-top", 1, 512, target_cell="top!r1!z2"))
        mixed.kill_cell("z2")
        try:
            # Past the down period (3 x 0.2 s): r1 counts z2 down.
            assert eventually(lambda: seen_down(top, "top!r1!z2"), timeout=PATIENCE)
            with pytest.raises(FailedPrecondition) as refused:
                top.pause(vm.uuid, wait=True)
            assert refused.value.message == (
                "cell top!r1!z2 cannot pause instances:"
                " oVirt has no pause; suspend hibernates the instance instead")
        finally:
            mixed.start_cell("z2")
            mixed.wait_registered(PATIENCE)
        assert top.delete(vm.uuid, wait=True).state is InstanceState.DELETED


def test_pause_as_suspend_lets_the_top_suspend_instead(tmp_path: Path) -> None:
    with engine_process() as url:
        tree = HEAD.replace("[cells.top]", "[cells.top]\npause_as_suspend = true") + ovirt_cell(
            "legacy", url, tmp_path / "engine-password")
        runner = start_tree(tmp_path, tree)
        try:
            with CellClient(runner.top_address, timeout=30) as top:
                vm = top.boot(boot_spec("sleepy", 1, 512))
                assert top.pause(vm.uuid, wait=True).state is InstanceState.SUSPENDED
                assert top.unpause(vm.uuid, wait=True).state is InstanceState.ACTIVE
                assert top.delete(vm.uuid, wait=True).state is InstanceState.DELETED
        finally:
            runner.stop()
