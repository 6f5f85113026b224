"""How much does a cell tree add to a routed call, over the bare gRPC hops?

    python -m tests.bench.bench_routing [--rounds R] [--calls N] [--threads T]
                                        [--seconds S] [--only PART ...]

The tree is the demo tree's shape with fake leaves: top -> 2 regions -> 2
leaf cells each, every cell its own process. A pause or unpause (wait=True)
sent to its top crosses three processes: the top routes it to a region, the
region to the leaf, and the leaf applies it on its fake driver (state in
memory, its row committed to SQLite before it answers). The baseline is a
bare chain of `tests.bench.chain` processes that serve the same generated
`Cells` service over the same loopback gRPC but only forward the request and
return a canned reply: exactly the gRPC hops, and nothing a cell does.

The tree and its chain run side by side, and their calls are interleaved: R
rounds (default 8), each of N sequential calls (default 250) on the tree and
then N on the chain, after a warm-up of each. Each call is timed on its own;
and for each round, the CPU time of every process (all its threads, from
/proc/PID/task/*/schedstat) is read before and after, so each level of the
tree, and each process of the chain, gets its CPU time per call: a figure
much steadier than latency on a shared machine.

  routing   hop by hop, 3 levels, against a bare 3-hop chain; and, to show
            what the tree's shape costs apart from what its cells do, against
            the same bare forwarders arranged as the tree is (top -> 2 -> 2
            each, every call taking one path by its uuid)
  direct    `direct_to_leaf = true` on the top: a call crosses two processes
            (the top, then the leaf), against a bare 2-hop chain
  load      T client threads (default 16), each with its own channel and
            instances, for S seconds (default 4) on the tree and then on the
            3-hop chain, alternately, R/2 rounds
  lists     a list of 1,000 instances through the top of a tree with 10
            leaves against one with 1 leaf (tests.bench.bench_lists)

Targets, printed with their ratios: routed pause p50 <= 1.25x the bare 3-hop
chain; direct-to-leaf p50 <= 1.25x the bare 2-hop chain; 16 threads >= 0.85x
the chain's calls/s.
"""

from __future__ import annotations

import argparse
import platform
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import grpc

from cellrouter.v1 import cells_pb2 as pb
from cellrouter.v1 import cells_pb2_grpc as pb_grpc
from cellwire import eventloop
from cellwire.client import CellClient, boot_spec
from tests.bench import bench_lists
from tests.bench.bench_load import boot_all, chain_connector, connect_to, drive
from tests.bench.cpu import Meter
from tests.bench.harness import (
    CALL_TIMEOUT,
    Result,
    error_lines,
    floor_line,
    header,
    target_line,
)
from tests.bench.rigs import bare_chain, bare_fanout, fake_tree

TARGET_RATIO = 1.25  # routed pause p50 / bare chain p50
TARGET_LOAD = 0.85  # tree calls/s / chain calls/s, 16 threads
INSTANCES = 20
PARTS = ("routing", "direct", "load", "lists")

# One call: (instance uuid, pause?) -> None.
Call = Callable[[str, bool], object]


def schedule(uuids: list[str]) -> Iterator[tuple[str, bool]]:
    """Endless (uuid, pause?) pairs: every instance paused in turn, then unpaused."""
    pause = True
    while True:
        for uuid in uuids:
            yield uuid, pause
        pause = not pause


@dataclass
class Target:
    """One side of a comparison: where calls go, and its processes."""

    label: str
    call: Call
    uuids: list[str]
    meter: Meter
    seconds: list[float] = field(default_factory=list)
    wall: float = 0.0

    def __post_init__(self) -> None:
        self._next = schedule(self.uuids)

    def run(self, calls: int, timed: bool = True) -> None:
        if timed:
            self.meter.begin()
        started = time.perf_counter()
        for _ in range(calls):
            uuid, pause = next(self._next)
            t0 = time.perf_counter()
            self.call(uuid, pause)
            if timed:
                self.seconds.append(time.perf_counter() - t0)
        if timed:
            self.wall += time.perf_counter() - started
            self.meter.end(calls)

    def result(self) -> Result:
        return Result(self.label, self.seconds, self.wall)


def interleave(targets: list[Target], rounds: int, calls: int) -> None:
    for t in targets:
        t.run(max(20, calls // 5), timed=False)  # warm-up: connections, caches
    for _ in range(rounds):
        for t in targets:
            t.run(calls)


def tree_target(label: str, top: str, groups: dict[str, list[int]],
                stack: ExitStack) -> Target:
    client = stack.enter_context(CellClient(top, timeout=CALL_TIMEOUT))
    uuids = [client.boot(boot_spec(f"bench-{i}", 1, 512, 1)).uuid for i in range(INSTANCES)]

    def call(uuid: str, pause: bool) -> object:
        return (client.pause if pause else client.unpause)(uuid, wait=True)

    return Target(label, call, uuids, Meter(groups))


def chain_target(label: str, head: str, groups: dict[str, list[int]],
                 stack: ExitStack) -> Target:
    channel = stack.enter_context(grpc.insecure_channel(head))
    stub = pb_grpc.CellsStub(channel)  # type: ignore[no-untyped-call]

    def call(uuid: str, pause: bool) -> object:
        method = stub.Pause if pause else stub.Unpause
        return method(pb.ActionRequest(uuid=uuid, wait=True), timeout=CALL_TIMEOUT)

    return Target(label, call, [str(uuidlib.uuid4()) for _ in range(INSTANCES)], Meter(groups))


def compare(title: str, tree: Target, chain: Target, rounds: int, calls: int,
            what: str, shape: Target | None = None) -> str:
    interleave([tree, chain, *([shape] if shape else [])], rounds, calls)
    t, c = tree.result(), chain.result()
    width = max(len(t.label), len(c.label), len("ratio tree/chain"),
                len(shape.label) if shape else 0)
    lines = [
        header(title),
        f"{rounds} rounds x {calls} sequential calls each (wait=True), tree and chain"
        f" alternately; Python {platform.python_version()}, grpc {grpc.__version__},"
        f" {eventloop.name()} loop in the cells",
    ]
    for r in (t, c):
        lines.append(f"{r.label:<{width}} p50 {r.p50:.2f} ms  p99 {r.p99:.2f} ms"
                     f"  {r.throughput:.0f} calls/s")
    ratio = t.p50 / c.p50
    lines.append(f"{'ratio tree/chain':<{width}} p50 {ratio:.2f}x  p99 {t.p99 / c.p99:.2f}x")
    lines += cpu_lines(tree.meter, chain.meter)
    lines.append(target_line(f"{what} p50 / bare chain p50", ratio, TARGET_RATIO))
    if shape is not None:
        s = shape.result()
        lines += [
            "the same bare forwarders in the tree's shape (each call one path, by its uuid):",
            f"{s.label:<{width}} p50 {s.p50:.2f} ms  p99 {s.p99:.2f} ms"
            f"  {s.throughput:.0f} calls/s",
            f"{'ratio tree/bare shape':<{width}} p50 {t.p50 / s.p50:.2f}x  CPU per call"
            f" {tree.meter.total_ms() / shape.meter.total_ms():.2f}x  (bare shape:"
            f" {parts(shape.meter)})",
        ]
    return "\n".join(lines)


def parts(meter: Meter) -> str:
    return "  ".join(f"{name} {ms:.2f}" for name, ms in meter.per_call_ms().items())


def cpu_lines(tree: Meter, chain: Meter) -> list[str]:
    """CPU per call of each level of the tree and each hop of the chain."""
    return [
        f"CPU per call, ms:  tree: {parts(tree)}  (all {tree.total_ms():.2f})",
        f"                   chain: {parts(chain)}  (all {chain.total_ms():.2f})",
        f"                   ratio tree/chain {tree.total_ms() / chain.total_ms():.2f}x",
    ]


def run_routing(rounds: int, calls: int) -> str:
    with ExitStack() as stack:
        top, groups = stack.enter_context(fake_tree())
        head, hops = stack.enter_context(bare_chain(3))
        fan_top, fan_groups = stack.enter_context(bare_fanout())
        tree = tree_target("cell tree, 3 levels", top, groups, stack)
        chain = chain_target("bare gRPC chain, 3 hops", head, hops, stack)
        shape = chain_target("bare forwarders, 2 x 2", fan_top, fan_groups, stack)
        return compare("Routed pause/unpause: 3 levels hop by hop (fake leaves) vs a bare"
                       " 3-hop chain", tree, chain, rounds, calls, "routed pause", shape)


def run_direct(rounds: int, calls: int) -> str:
    with ExitStack() as stack:
        top, groups = stack.enter_context(fake_tree(direct_to_leaf=True))
        head, hops = stack.enter_context(bare_chain(2))
        fan_top, fan_groups = stack.enter_context(bare_fanout(routers=4, leaves=0))
        tree = tree_target("cell tree, direct to leaf", top, groups, stack)
        time.sleep(2.0)  # the leaves' addresses reach the top with their reports
        chain = chain_target("bare gRPC chain, 2 hops", head, hops, stack)
        shape = chain_target("bare forwarders, 1 -> 4", fan_top, fan_groups, stack)
        return compare("Direct to leaf: the top sends each call straight to its leaf (two"
                       " processes) vs a bare 2-hop chain", tree, chain, rounds, calls,
                       "direct-to-leaf pause", shape)


def run_load(threads: int, seconds: float, rounds: int) -> str:
    with ExitStack() as stack:
        top, groups = stack.enter_context(fake_tree())
        head, hops = stack.enter_context(bare_chain(3))
        fan_top, fan_groups = stack.enter_context(bare_fanout())
        tree_uuids = boot_all(top, threads, 4)
        chain_uuids = [[str(uuidlib.uuid4()) for _ in range(4)] for _ in range(threads)]
        tree_meter, chain_meter, shape_meter = Meter(groups), Meter(hops), Meter(fan_groups)
        runs: dict[str, list[Result]] = {"tree": [], "chain": [], "shape": []}
        for _ in range(rounds):
            for side, connect, uuids, meter in (
                    ("tree", connect_to(top), tree_uuids, tree_meter),
                    ("chain", chain_connector(head), chain_uuids, chain_meter),
                    ("shape", chain_connector(fan_top), chain_uuids, shape_meter)):
                meter.begin()
                done = drive(f"{side}, {threads} threads", connect, uuids, seconds)
                meter.end(len(done.seconds) + len(done.errors))
                runs[side].append(done)
    tree, chain, shape = (merge(runs[side], label) for side, label in (
        ("tree", f"cell tree, 3 levels, {threads} threads"),
        ("chain", f"bare gRPC chain, 3 hops, {threads} threads"),
        ("shape", f"bare forwarders, 2 x 2, {threads} threads")))
    width = max(len(tree.label), len(chain.label), len(shape.label), len("ratio tree/chain"))
    ratio = tree.throughput / chain.throughput
    lines = [
        header(f"Concurrency: {threads} client threads, pause/unpause (wait=True) at the top,"
               " hop by hop"),
        f"{rounds} rounds of about {seconds:g} s on the tree and then on the chain; each"
        " thread its own channel and instances",
    ]
    for r in (tree, chain):
        lines.append(f"{r.label:<{width}} {r.throughput:.0f} calls/s"
                     f"  p50 {r.p50:.2f} ms  p99 {r.p99:.2f} ms")
    lines.append(f"{'ratio tree/chain':<{width}} calls/s {ratio:.2f}x"
                 f"  p50 {tree.p50 / chain.p50:.2f}x")
    lines += cpu_lines(tree_meter, chain_meter)
    lines.append(floor_line("tree calls/s / bare chain calls/s", ratio, TARGET_LOAD))
    lines += [
        "the same bare forwarders in the tree's shape (each call one path, by its uuid):",
        f"{shape.label:<{width}} {shape.throughput:.0f} calls/s  p50 {shape.p50:.2f} ms",
        f"{'ratio tree/bare shape':<{width}} calls/s {tree.throughput / shape.throughput:.2f}x"
        f"  CPU per call {tree_meter.total_ms() / shape_meter.total_ms():.2f}x"
        f"  (bare shape: {parts(shape_meter)})",
    ]
    for r in (tree, chain, shape):
        lines += error_lines(r)
    return "\n".join(lines)


def merge(results: list[Result], label: str) -> Result:
    return Result(label, [s for r in results for s in r.seconds], sum(r.wall for r in results),
                  [e for r in results for e in r.errors])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_routing",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8, help="rounds (default 8)")
    parser.add_argument("--calls", type=int, default=250,
                        help="sequential calls per round and side (default 250)")
    parser.add_argument("--threads", type=int, default=16, help="load: threads (default 16)")
    parser.add_argument("--seconds", type=float, default=4.0,
                        help="load: seconds per round and side (default 4)")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS),
                        metavar="PART",
                        help=f"run only these parts, of {', '.join(PARTS)} (default all)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.calls < 1 or args.threads < 1 or args.seconds <= 0:
        parser.error("--rounds, --calls, --threads and --seconds must be positive")
    if "routing" in args.only:
        print(run_routing(args.rounds, args.calls), flush=True)
    if "direct" in args.only:
        print(run_direct(args.rounds, args.calls), flush=True)
    if "load" in args.only:
        print(run_load(args.threads, args.seconds, max(1, args.rounds // 2)), flush=True)
    if "lists" in args.only:
        print(bench_lists.run(), flush=True)


if __name__ == "__main__":
    main()
