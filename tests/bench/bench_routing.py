"""How much does a cell tree add to a routed call, over the bare gRPC hops?

    python -m tests.bench.bench_routing [--ops N] [--instances K]

A pause or unpause sent to the top of the demo tree (examples/demo-tree.toml)
crosses three processes: the top routes it to a region, the region routes it
to a zone (a leaf cell), and the leaf applies it on its fake driver and
answers back up the same way. Every cell on the way does real work: it
looks the instance up in its location index (a database), counts hops,
translates between protobuf and the model, and the leaf checks the state
machine and records the new state.

The baseline is a bare chain of three `tests.bench.chain` processes that
serve the same generated `Cells` service over the same loopback gRPC, but
only forward the request and return a canned reply. The chain costs exactly
the three gRPC hops (and the Python gRPC stack in each process), so
tree / chain is what the cells' own logic costs on top of the transport.

Both runs make N sequential calls (pause, then unpause, of K instances in
turn, so every call is legal) with wait=True, one at a time from one client,
after a short warm-up that is not counted. Each call is timed on its own with
time.perf_counter(); throughput is N over the wall time of the timed calls.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cells.client import CellClient, boot_spec
from cells.tree import TreeRunner, free_ports, load_tree

DEMO_TREE = Path("examples/demo-tree.toml")
HOST = "127.0.0.1"
CHAIN_LENGTH = 3
CALL_TIMEOUT = 10.0  # seconds, for every timed call
READY_TIMEOUT = 15.0  # seconds, for each chain process to accept connections


@dataclass(frozen=True, slots=True)
class Result:
    label: str
    seconds: list[float]  # one per timed call
    wall: float  # wall time of all the timed calls together

    def percentile_ms(self, p: float) -> float:
        """The nearest-rank percentile p (0-100) of the call times, in ms."""
        ordered = sorted(self.seconds)
        rank = max(1, -(-len(ordered) * p // 100))  # ceil, at least the first
        return ordered[int(rank) - 1] * 1000.0

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds) * 1000.0

    @property
    def p99(self) -> float:
        return self.percentile_ms(99)

    @property
    def throughput(self) -> float:
        return len(self.seconds) / self.wall


# ------------------------------------------------------------------ driving calls

# One call: (instance uuid, pause?) -> None.
Call = Callable[[str, bool], object]


def schedule(uuids: list[str]) -> Iterator[tuple[str, bool]]:
    """Endless (uuid, pause?) pairs: every instance paused in turn, then unpaused."""
    pause = True
    while True:
        for uuid in uuids:
            yield uuid, pause
        pause = not pause


def measure(label: str, call: Call, uuids: list[str], ops: int, warmup: int) -> Result:
    """Make warmup untimed calls, then ops timed ones, all in sequence."""
    calls = schedule(uuids)
    for _ in range(warmup):
        call(*next(calls))
    seconds = []
    start = time.perf_counter()
    for _ in range(ops):
        uuid, pause = next(calls)
        t0 = time.perf_counter()
        call(uuid, pause)
        seconds.append(time.perf_counter() - t0)
    return Result(label, seconds, time.perf_counter() - start)


# ------------------------------------------------------------------- the cell tree

def run_tree(ops: int, instances: int, warmup: int) -> Result:
    """Start the demo tree, boot instances through the top, time actions through it."""
    with tempfile.TemporaryDirectory(prefix="cellrouter-bench-") as tmp:
        runner = TreeRunner(load_tree(DEMO_TREE), Path(tmp))
        try:
            top = runner.start()
            with CellClient(top, timeout=CALL_TIMEOUT) as client:
                uuids = boot_instances(client, instances)

                def call(uuid: str, pause: bool) -> object:
                    if pause:
                        return client.pause(uuid, wait=True)
                    return client.unpause(uuid, wait=True)

                return measure(f"cell tree, {CHAIN_LENGTH} levels", call, uuids, ops, warmup)
        finally:
            runner.stop()


def boot_instances(client: CellClient, count: int) -> list[str]:
    """Boot small instances through the top; the top spreads them over the leaves."""
    uuids = []
    for i in range(count):
        instance = client.boot(boot_spec(f"bench-{i}", vcpus=1, memory_mb=512, disk_gb=1))
        uuids.append(instance.uuid)
    return uuids


# ------------------------------------------------------------- the bare chain

def run_chain(ops: int, instances: int, warmup: int) -> Result:
    """Start a bare chain of forwarders, time the same actions through its head."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        head = start_chain(procs)
        uuids = [str(uuidlib.uuid4()) for _ in range(instances)]
        with grpc.insecure_channel(head) as channel:
            stub = pb_grpc.CellsStub(channel)

            def call(uuid: str, pause: bool) -> object:
                method = stub.Pause if pause else stub.Unpause
                return method(pb.ActionRequest(uuid=uuid, wait=True), timeout=CALL_TIMEOUT)

            return measure(f"bare gRPC chain, {CHAIN_LENGTH} hops", call, uuids, ops, warmup)
    finally:
        stop_chain(procs)


def start_chain(procs: list[subprocess.Popen[bytes]]) -> str:
    """Start the chain from its end (appending to procs as it goes); return the head."""
    addresses = [f"{HOST}:{port}" for port in free_ports(HOST, CHAIN_LENGTH)]
    next_address = None
    for address in reversed(addresses):  # the leaf first, the head last
        args = [sys.executable, "-m", "tests.bench.chain", "--listen", address]
        if next_address:
            args += ["--next", next_address]
        procs.append(subprocess.Popen(args, stdin=subprocess.DEVNULL))
        wait_ready(address, procs[-1])
        next_address = address
    return addresses[0]


def wait_ready(address: str, proc: subprocess.Popen[bytes]) -> None:
    with grpc.insecure_channel(address) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=READY_TIMEOUT)
        except grpc.FutureTimeoutError:
            status = "exited" if proc.poll() is not None else "still running"
            raise RuntimeError(f"chain process at {address} not ready after"
                               f" {READY_TIMEOUT:g} s ({status})") from None


def stop_chain(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------- report

def report(tree: Result, chain: Result, warmup: int) -> str:
    width = max(len(tree.label), len(chain.label), len("ratio tree/chain"))
    lines = [
        f"{len(tree.seconds)} sequential pause/unpause calls (wait=True),"
        f" {warmup} warm-up calls excluded;"
        f" Python {platform.python_version()}, grpc {grpc.__version__}",
    ]
    for r in (tree, chain):
        lines.append(f"{r.label:<{width}} p50 {r.p50:.2f} ms  p99 {r.p99:.2f} ms"
                     f"  {r.throughput:.0f} calls/s")
    lines.append(f"{'ratio tree/chain':<{width}} p50 {tree.p50 / chain.p50:.1f}x"
                 f"  p99 {tree.p99 / chain.p99:.1f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_routing",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=2000, help="timed calls (default 2000)")
    parser.add_argument("--instances", type=int, default=20,
                        help="instances to pause and unpause in turn (default 20)")
    args = parser.parse_args(argv)
    if args.ops < 1 or args.instances < 1:
        parser.error("--ops and --instances must be at least 1")
    warmup = min(100, max(10, args.ops // 10))

    tree = run_tree(args.ops, args.instances, warmup)
    chain = run_chain(args.ops, args.instances, warmup)
    print(report(tree, chain, warmup))


if __name__ == "__main__":
    main()
