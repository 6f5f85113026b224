"""What the libvirt leaf costs over libvirt-python itself.

    python -m tests.bench.bench_libvirt [--seconds S]

One lifecycle = create, pause, unpause, delete of one domain on a libvirt
test-driver node (in process, no daemon). Measured three ways in one run:

    libvirt-python   defineXML, create, suspend, resume, destroy, undefine
    LibvirtDriver    spawn, act(PAUSE), act(UNPAUSE), act(DELETE): the driver's
                     claims, state checks, metadata and error translation
    leaf cell        boot, pause, unpause, delete through a CellClient to a
                     leaf cell (gRPC on loopback, index, selector)

and each is printed as lifecycles per second and as a ratio to libvirt-python.

Then, where QEMU is installed, a routed pause and unpause through a three-level
tree of cell processes onto a real QEMU guest (TCG; the marker-printing boot
disk of the integration test), p50 and p99.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid as uuidlib
from dataclasses import replace
from pathlib import Path

import libvirt

from cells.client import CellClient, boot_spec
from cells.config import from_mapping
from cells.ops.embed import EmbeddedCell
from model.compute import Action
from tests.bench.harness import rate
from virt.libvirt_driver import from_config, render_domain, test_node_xml

HOST = {"name": "h1", "vcpus": 100_000, "memory_mb": 100_000_000, "disk_gb": 1_000_000}




def raw(tmp: Path, seconds: float) -> float:
    node = tmp / "raw-node.xml"
    node.write_text(test_node_xml(HOST["vcpus"], HOST["memory_mb"]))
    conn = libvirt.open(f"test://{node}")

    def cycle() -> None:
        xml = render_domain(replace(boot_spec("raw", 1, 64), uuid=str(uuidlib.uuid4())), "test")
        dom = conn.defineXML(xml)
        dom.create()
        dom.suspend()
        dom.resume()
        dom.destroy()
        dom.undefine()

    try:
        return rate(cycle, seconds, warmup=20)
    finally:
        conn.close()


def driver(tmp: Path, seconds: float) -> float:
    drv = from_config({}, [HOST], tmp / "driver")

    def cycle() -> None:
        spec = replace(boot_spec("drv", 1, 64), uuid=str(uuidlib.uuid4()))
        drv.spawn(spec, "h1")
        drv.act(spec.uuid, Action.PAUSE)
        drv.act(spec.uuid, Action.UNPAUSE)
        drv.act(spec.uuid, Action.DELETE)

    try:
        return rate(cycle, seconds, warmup=20)
    finally:
        drv.close()


def leaf(tmp: Path, seconds: float) -> float:
    config = from_mapping({
        "cell": {"name": "z", "listen": "127.0.0.1:0", "state_dir": str(tmp / "leaf"),
                 "insecure": True},
        "leaf": {"driver": "libvirt", "hosts": [HOST]},
    })
    with EmbeddedCell(config) as cell, CellClient(cell.address) as client:
        def cycle() -> None:
            vm = client.boot(boot_spec("leaf", 1, 64))
            client.pause(vm.uuid, wait=True)
            client.unpause(vm.uuid, wait=True)
            client.delete(vm.uuid, wait=True)

        return rate(cycle, seconds, warmup=20)


def qemu_pause(tmp: Path, calls: int) -> str:
    """Routed pause/unpause onto a real guest; a line saying why not, without QEMU."""
    import shutil
    import statistics
    import subprocess

    from cells.ops.tree import TreeRunner, load_tree
    from tests.integration.test_qemu import QEMU_DRIVER, boot_disk, qemu_root, qemu_tree_text

    if not (shutil.which("qemu-system-x86_64") and QEMU_DRIVER.exists()):
        return "routed pause onto a QEMU guest: skipped (qemu-system-x86 is not installed)"
    root = qemu_root()
    (tmp / "qemu-tree.toml").write_text(qemu_tree_text(root))
    runner = TreeRunner(load_tree(tmp / "qemu-tree.toml"), tmp / "qemu-state", "WARNING")
    try:
        top = runner.start(timeout=60)
        with CellClient(top, timeout=60) as client:
            vm = client.boot(boot_spec("tiny", 1, 32, image=str(boot_disk(tmp / "m.img"))))
            times = []
            for n in range(calls):
                started = time.perf_counter()
                if n % 2 == 0:
                    client.pause(vm.uuid, wait=True)
                else:
                    client.unpause(vm.uuid, wait=True)
                times.append(time.perf_counter() - started)
            client.delete(vm.uuid, wait=True)
    finally:
        runner.stop()
        subprocess.run(["pkill", "-KILL", "-f", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)
    ordered = sorted(times)
    p99 = ordered[max(0, -(-len(ordered) * 99 // 100) - 1)]
    return (f"routed pause/unpause onto a QEMU guest, 3 levels: p50"
            f" {statistics.median(times) * 1000:.2f} ms  p99 {p99 * 1000:.2f} ms"
            f"  ({calls} calls)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-libvirt-") as name:
        tmp = Path(name)
        base = raw(tmp, args.seconds)
        through_driver = driver(tmp, args.seconds)
        through_leaf = leaf(tmp, args.seconds)
        on_qemu = qemu_pause(tmp, 200)
    print("\n=== libvirt leaf: lifecycles (create, pause, unpause, delete) per second ===")
    print(f"libvirt version {libvirt.getVersion()}, test driver node in process")
    for label, value in (("libvirt-python directly", base),
                         ("LibvirtDriver", through_driver),
                         ("leaf cell over gRPC", through_leaf)):
        print(f"{label:<24} {value:8,.0f} lifecycles/s  {base / value:5.1f}x the direct time")
    print(on_qemu)


if __name__ == "__main__":
    main()
