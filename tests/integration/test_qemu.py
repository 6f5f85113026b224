"""A real QEMU guest (TCG) booted and driven through a three-level tree of cell processes.

The guest is a 1 MiB disk whose boot sector prints a marker on the serial
console and halts: no downloaded image. The leaf runs libvirt's QEMU driver
embedded in its own process (`qemu:///embed?root=DIR`), so no daemon is needed.
What this needs from Debian is installed here when missing (as root); without
it the test is skipped, unless CELLROUTER_REQUIRE_QEMU=1 (as in CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cellops.tree import TreeRunner
from cellwire.client import CellClient, boot_spec
from model.compute import InstanceState
from tests.integration.conftest import HEAD, eventually, start_tree

pytestmark = pytest.mark.qemu
MARKER = b"CELLROUTER-BOOT-OK"
PACKAGES = ["libvirt-daemon-driver-qemu", "qemu-system-x86"]
QEMU_DRIVER = Path("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so")


def _unavailable(reason: str) -> None:
    if os.environ.get("CELLROUTER_REQUIRE_QEMU") == "1":
        pytest.fail(f"{reason} (CELLROUTER_REQUIRE_QEMU=1)")
    pytest.skip(reason)


def _ensure_qemu() -> None:
    """Install QEMU and libvirt's QEMU driver, and the user libvirt looks up as root."""
    if not (shutil.which("qemu-system-x86_64") and QEMU_DRIVER.exists()):
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            _unavailable(f"needs Debian packages {' '.join(PACKAGES)} (apt-get install as root)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
                       check=True, env=env, timeout=600, stdout=subprocess.DEVNULL)
    if os.geteuid() == 0:
        # As root, libvirt's QEMU driver looks this user up even when told to use root.
        if subprocess.run(["getent", "group", "libvirt-qemu"], capture_output=True).returncode:
            subprocess.run(["groupadd", "--system", "libvirt-qemu"], check=True)
        if subprocess.run(["id", "libvirt-qemu"], capture_output=True).returncode:
            subprocess.run(["useradd", "--system", "-g", "libvirt-qemu", "-d", "/nonexistent",
                            "-s", "/usr/sbin/nologin", "libvirt-qemu"], check=True)


def boot_disk(path: Path) -> Path:
    """A 1 MiB raw disk whose boot sector writes MARKER to COM1, then halts."""
    text = MARKER + b"\r\n\0"
    code = bytearray(b"\xfa\x31\xc0\x8e\xd8\xfc")  # cli; xor ax,ax; mov ds,ax; cld
    at_si = len(code)
    code += b"\xbe\x00\x00"  # mov si, <text>
    code += b"\xba\xf8\x03"  # mov dx, 0x3f8 (COM1)
    loop = len(code)
    code += b"\xac\x84\xc0"  # lodsb; test al, al
    at_jz = len(code)
    code += b"\x74\x00"  # jz done
    code += b"\xee"  # out dx, al
    code += bytes([0xEB, (loop - (len(code) + 2)) & 0xFF])  # jmp loop
    code[at_jz + 1] = len(code) - (at_jz + 2)
    code += b"\xf4\xeb\xfd"  # done: hlt; jmp done
    address = 0x7C00 + len(code)
    code[at_si + 1:at_si + 3] = address.to_bytes(2, "little")
    code += text
    sector = bytes(code).ljust(510, b"\0") + b"\x55\xaa"
    path.write_bytes(sector + bytes(1024 * 1024 - 512))
    return path




def qemu_root() -> Path:
    """An embedded QEMU driver's root, set up to run guests here."""
    # Short: QEMU's monitor sockets live below it, and a socket path has at
    # most 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="crq-", dir="/tmp"))
    (root / "etc").mkdir()
    # Run guests as root (no user switch, no re-probing of QEMU on each call),
    # and log to files (there is no virtlogd).
    (root / "etc" / "qemu.conf").write_text(
        'user = "root"\ngroup = "root"\nstdio_handler = "file"\n')
    return root


def qemu_tree_text(root: Path, images: Path) -> str:
    """top -> r1 -> z1, a leaf with one QEMU host embedded in its process, and
    one image, `marker`: the file marker.img in `images` (see boot_disk)."""
    return HEAD + f"""
[[images]]
name = "marker"
source = "marker.img"

[cells.z1]
parent = "r1"
driver = "libvirt"
domain_type = "qemu"
stop_timeout = 1.0
images_dir = "{images}"
hosts = [{{ name = "qemu-host", uri = "qemu:///embed?root={root}", disk_gb = 10 }}]
"""


@pytest.fixture
def qemu_tree(tmp_path: Path) -> Iterator[TreeRunner]:
    _ensure_qemu()
    root = qemu_root()
    (tmp_path / "images").mkdir()
    boot_disk(tmp_path / "images" / "marker.img")
    runner = start_tree(tmp_path, qemu_tree_text(root, tmp_path / "images"))
    try:
        yield runner
    finally:
        runner.stop()
        # No guest may outlive the test, whatever happened.
        subprocess.run(["pkill", "-KILL", "-f", str(tmp_path)], check=False)
        subprocess.run(["pkill", "-KILL", "-f", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)


def test_a_real_guest_through_three_levels(qemu_tree: TreeRunner, tmp_path: Path) -> None:
    with CellClient(qemu_tree.top_address, timeout=60) as top:
        vm = top.boot(boot_spec("tiny", 1, 32, image="marker"))
        assert vm.state is InstanceState.ACTIVE and vm.cell_path == "top!r1!z1"
        console = qemu_tree.state_dir / "z1" / "guests" / f"{vm.uuid}.console.log"

        def printed() -> int:
            return console.read_bytes().count(MARKER) if console.exists() else 0

        assert eventually(lambda: printed() >= 1), "the guest printed nothing"

        assert top.pause(vm.uuid, wait=True).state is InstanceState.PAUSED
        assert top.get(vm.uuid).state is InstanceState.PAUSED  # what libvirt reports
        assert top.unpause(vm.uuid, wait=True).state is InstanceState.ACTIVE

        before = printed()
        assert top.reboot(vm.uuid, wait=True, hard=True).state is InstanceState.ACTIVE
        assert eventually(lambda: printed() > before), "no marker after reset"

        assert top.stop(vm.uuid, wait=True).state is InstanceState.STOPPED
        assert top.start(vm.uuid, wait=True).state is InstanceState.ACTIVE
        assert top.delete(vm.uuid, wait=True).state is InstanceState.DELETED
        assert not (qemu_tree.state_dir / "z1" / "guests" / f"{vm.uuid}.img").exists()
    # Deleting the guest ended its QEMU process.
    guests = subprocess.run(["pgrep", "-f", f"qemu-system-x86_64.*{tmp_path}"],
                            capture_output=True, text=True)
    assert guests.stdout.strip() == "", f"QEMU processes left behind: {guests.stdout}"
