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

Then the CPU time a leaf cell process spends per pause or unpause (read from
/proc, with the lifecycle events and reports they cause) with 16 domains on
its host and with 256: the leaf applies each event to its one domain and
keeps capacity as domains come and go, so the figure should not grow with
the number of domains (target: 256 / 16 <= 1.2x).

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

from cells.config import from_mapping
from cells.embed import EmbeddedCell
from cellwire.client import CellClient, boot_spec
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

    from cellops.tree import TreeRunner
    from cellops.tree_spec import load_tree
    from tests.integration.test_qemu import QEMU_DRIVER, boot_disk, qemu_root, qemu_tree_text

    if not (shutil.which("qemu-system-x86_64") and QEMU_DRIVER.exists()):
        return "routed pause onto a QEMU guest: skipped (qemu-system-x86 is not installed)"
    root = qemu_root()
    (tmp / "images").mkdir(exist_ok=True)
    boot_disk(tmp / "images" / "marker.img")
    (tmp / "qemu-tree.toml").write_text(qemu_tree_text(root, tmp / "images"))
    runner = TreeRunner(load_tree(tmp / "qemu-tree.toml"), tmp / "qemu-state", "WARNING")
    try:
        top = runner.start(timeout=60)
        with CellClient(top, timeout=60) as client:
            vm = client.boot(boot_spec("tiny", 1, 32, image="marker"))
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


LEAF_TREE = """[tree]
host = "127.0.0.1"
report_interval = 0.5
insecure = true
[cells.z]
driver = "libvirt"
hosts = [{ name = "h1", vcpus = 100000, memory_mb = 100000000, disk_gb = 1000000 }]
"""


def cpu_per_pause(tmp: Path, small: int = 16, large: int = 256, calls: int = 400) -> str:
    """The leaf process's CPU time per pause or unpause with `small` domains on its
    host, then `large`, then `small` again (the two small runs averaged)."""
    from cellops.tree import TreeRunner
    from tests.bench.cpu import Meter
    from tests.bench.trees import write_tree

    runner = TreeRunner(write_tree(LEAF_TREE, tmp, "leaf-tree.toml"), tmp / "leaf-state",
                        "WARNING")
    try:
        address = runner.start(timeout=60)
        meter_of = Meter({"leaf": [runner.procs["z"].pid]})
        with CellClient(address, timeout=30) as client:
            def boot(count: int) -> list[str]:
                return [client.boot(boot_spec(f"d-{uuidlib.uuid4().hex[:8]}", 1, 64)).uuid
                        for _ in range(count)]

            def measure(uuids: list[str]) -> float:
                meter = Meter(meter_of.groups)
                for uuid in uuids[:10]:  # warm-up
                    client.pause(uuid, wait=True)
                    client.unpause(uuid, wait=True)
                time.sleep(0.5)
                meter.begin()
                for n in range(calls):
                    uuid = uuids[(n // 2) % len(uuids)]
                    (client.pause if n % 2 == 0 else client.unpause)(uuid, wait=True)
                time.sleep(1.0)  # events and reports the calls caused, counted too
                meter.end(calls)
                return meter.per_call_ms()["leaf"]

            first = boot(small)
            at_small = measure(first)
            more = boot(large - small)
            at_large = measure(first + more)
            for uuid in more:
                client.delete(uuid, wait=True)
            at_small = (at_small + measure(first)) / 2
    finally:
        runner.stop()
    ratio = at_large / at_small
    verdict = "met" if ratio <= CPU_RATIO_TARGET else "MISSED"
    return "\n".join([
        f"libvirt leaf process, CPU per pause or unpause (from /proc; the lifecycle events"
        f" and reports they cause included): {small} domains {at_small:.2f} ms,"
        f" {large} domains {at_large:.2f} ms, ratio {ratio:.2f}x",
        f"target: CPU per pause at {large} / at {small} domains <= {CPU_RATIO_TARGET:g}x:"
        f" {ratio:.2f}x, {verdict}",
    ])


CPU_RATIO_TARGET = 1.2


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
        per_pause = cpu_per_pause(tmp)
    print("\n=== libvirt leaf: lifecycles (create, pause, unpause, delete) per second ===")
    print(f"libvirt version {libvirt.getVersion()}, test driver node in process")
    for label, value in (("libvirt-python directly", base),
                         ("LibvirtDriver", through_driver),
                         ("leaf cell over gRPC", through_leaf)):
        print(f"{label:<24} {value:8,.0f} lifecycles/s  {base / value:5.1f}x the direct time")
    print(per_pause)
    print(on_qemu)


if __name__ == "__main__":
    main()
