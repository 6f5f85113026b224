"""How much does a cell tree add to a routed call, over the bare gRPC hops?

    python -m tests.bench.bench_routing [--ops N] [--instances K] [--only PART ...]

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

The same run then measures, each under its own header:

  Direct-to-leaf  the demo tree with `direct_to_leaf = true` on its top cell,
                  which sends each action straight to the leaf that has the
                  instance once the leaves' addresses have reached it with
                  the reports (the run waits 2 s after booting for that).
                  The same N sequential calls, against a bare ONE-hop call
                  (a single `tests.bench.chain` process without --next).
  Concurrency     16 client threads at the top of the hop-by-hop demo tree
                  and at the bare 3-hop chain (tests.bench.bench_load).
  Lists           a list of 1,000 instances through the top of a tree with
                  10 leaves against one with 1 leaf (tests.bench.bench_lists).

Targets, printed next to the figures: a routed pause <= 1.25x the bare
chain; a list of 1,000 over 10 cells <= 100 ms p50 and <= 2x one cell.
Each part starts its own processes and stops them before the next starts.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import tempfile
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cells.client import CellClient, boot_spec
from cells.ops.tree import TreeRunner, TreeSpec, load_tree
from tests.bench import bench_lists, bench_load
from tests.bench.harness import (
    CALL_TIMEOUT,
    Result,
    header,
    start_chain,
    stop_chain,
    target_line,
)
from tests.bench.trees import DEMO_TREE, demo_text, write_tree

CHAIN_LENGTH = 3
LEAF_ADDRESS_WAIT = 2.0  # seconds for the leaves' addresses to reach the top
TARGET_RATIO = 1.25  # routed pause / bare chain
PARTS = ("routing", "direct", "load", "lists")


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

def run_tree(ops: int, instances: int, warmup: int, spec: TreeSpec | None = None,
             label: str = f"cell tree, {CHAIN_LENGTH} levels",
             settle: float = 0.0) -> tuple[Result, list[str]]:
    """Start a tree (the demo tree unless `spec`), boot instances through the top,
    wait `settle` seconds, time actions through it. Also returns the top's log
    lines about direct calls that fell back to routing hop by hop."""
    with tempfile.TemporaryDirectory(prefix="cellrouter-bench-") as tmp:
        runner = TreeRunner(spec or load_tree(DEMO_TREE), Path(tmp))
        try:
            top = runner.start()
            with CellClient(top, timeout=CALL_TIMEOUT) as client:
                uuids = boot_instances(client, instances)
                time.sleep(settle)

                def call(uuid: str, pause: bool) -> object:
                    if pause:
                        return client.pause(uuid, wait=True)
                    return client.unpause(uuid, wait=True)

                result = measure(label, call, uuids, ops, warmup)
            return result, fallbacks(runner)
        finally:
            runner.stop()


def fallbacks(runner: TreeRunner) -> list[str]:
    log = runner.state_dir / runner.spec.top.name / "cell.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return [line for line in text.splitlines() if "routing hop by hop" in line]


def boot_instances(client: CellClient, count: int) -> list[str]:
    """Boot small instances through the top; the top spreads them over the leaves."""
    uuids = []
    for i in range(count):
        instance = client.boot(boot_spec(f"bench-{i}", vcpus=1, memory_mb=512, disk_gb=1))
        uuids.append(instance.uuid)
    return uuids


# ------------------------------------------------------------- the bare chain

def run_chain(ops: int, instances: int, warmup: int,
              length: int = CHAIN_LENGTH) -> Result:
    """Start a bare chain of forwarders, time the same actions through its head."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        head = start_chain(procs, length)
        uuids = [str(uuidlib.uuid4()) for _ in range(instances)]
        with grpc.insecure_channel(head) as channel:
            stub = pb_grpc.CellsStub(channel)

            def call(uuid: str, pause: bool) -> object:
                method = stub.Pause if pause else stub.Unpause
                return method(pb.ActionRequest(uuid=uuid, wait=True), timeout=CALL_TIMEOUT)

            hops = f"{length} hops" if length > 1 else "1 hop"
            return measure(f"bare gRPC chain, {hops}", call, uuids, ops, warmup)
    finally:
        stop_chain(procs)


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


def report_direct(direct: Result, bare: Result, warmup: int, fell_back: list[str]) -> str:
    ratio_label = "ratio direct/bare"
    width = max(len(direct.label), len(bare.label), len(ratio_label))
    ratio_p50 = direct.p50 / bare.p50
    lines = [
        header("Direct-to-leaf: demo tree, direct_to_leaf = true on the top,"
               " vs a bare one-hop call"),
        f"{len(direct.seconds)} sequential pause/unpause calls (wait=True),"
        f" {warmup} warm-up calls excluded; timing began {LEAF_ADDRESS_WAIT:g} s after"
        " the instances were booted",
    ]
    for r in (direct, bare):
        lines.append(f"{r.label:<{width}} p50 {r.p50:.2f} ms  p99 {r.p99:.2f} ms"
                     f"  {r.throughput:.0f} calls/s")
    lines.append(f"{ratio_label:<{width}} p50 {ratio_p50:.1f}x"
                 f"  p99 {direct.p99 / bare.p99:.1f}x")
    lines.append(target_line("routed pause p50 / bare p50", ratio_p50, TARGET_RATIO))
    if fell_back:
        lines.append(f"  the top logged {len(fell_back)} direct calls that fell back to"
                     f" routing hop by hop; first: {fell_back[0]}")
    else:
        lines.append("  the top logged no direct call falling back to routing hop by hop")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_routing",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=2000, help="timed calls (default 2000)")
    parser.add_argument("--instances", type=int, default=20,
                        help="instances to pause and unpause in turn (default 20)")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS),
                        metavar="PART",
                        help=f"run only these parts, of {', '.join(PARTS)} (default all)")
    args = parser.parse_args(argv)
    if args.ops < 1 or args.instances < 1:
        parser.error("--ops and --instances must be at least 1")
    warmup = min(100, max(10, args.ops // 10))

    if "routing" in args.only:
        tree, _ = run_tree(args.ops, args.instances, warmup)
        chain = run_chain(args.ops, args.instances, warmup)
        print(header(f"Routed pause/unpause: demo tree ({CHAIN_LENGTH} levels, hop by hop)"
                     f" vs bare {CHAIN_LENGTH}-hop chain"))
        print(report(tree, chain, warmup))
        print(target_line("routed pause p50 / bare chain p50", tree.p50 / chain.p50,
                          TARGET_RATIO), flush=True)

    if "direct" in args.only:
        with tempfile.TemporaryDirectory(prefix="cellrouter-bench-direct-") as tmp:
            spec = write_tree(demo_text(direct_to_leaf=True), Path(tmp))
        direct, fell_back = run_tree(args.ops, args.instances, warmup, spec,
                                     "cell tree, direct to leaf", LEAF_ADDRESS_WAIT)
        bare = run_chain(args.ops, args.instances, warmup, length=1)
        print(report_direct(direct, bare, warmup, fell_back), flush=True)

    if "load" in args.only:
        print(bench_load.run(), flush=True)

    if "lists" in args.only:
        print(bench_lists.run(), flush=True)


if __name__ == "__main__":
    main()
