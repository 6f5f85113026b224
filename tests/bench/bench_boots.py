"""How many boots per second a three-level tree of processes places and builds.

    python -m tests.bench.bench_boots [--threads N] [--seconds S] [--rounds R]

The tree is top -> 2 routers -> 3 fake leaves each (one big host per leaf,
so capacity never runs out). N client threads (default 16) boot 1-vCPU
instances through the top for S seconds (default 4); every boot is a full
placement at each level (the selector over the children's reported
capacity, then over the leaf's hosts), index writes at every level, and a
claim on the fake hypervisor. The baseline, run alternately with it R times
(default 3), is the same N threads sending pause/unpause to a bare chain of
three `tests.bench.chain` processes. Reported: boots per second against the
chain's calls per second, the p50/p99 latency of one boot, and the CPU time
per boot of each level of the tree (from /proc). Target: >= 0.5x.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid as uuidlib
from contextlib import ExitStack

from cellwire.client import CellClient, boot_spec
from model.errors import CellError
from tests.bench import bench_load as load
from tests.bench.cpu import Meter
from tests.bench.harness import Result, error_lines, floor_line, header
from tests.bench.rigs import bare_chain, fake_tree

TARGET_RATIO = 0.5  # boots/s, against the bare 3-hop chain's calls/s


def drive(top: str, threads: int, seconds: float) -> Result:
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        with CellClient(top, timeout=10) as client:
            i = 0
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    client.boot(boot_spec(f"b-{n}-{i}", 1, 64))
                except CellError as exc:
                    with lock:
                        errors.append(str(exc))
                else:
                    with lock:
                        times.append(time.perf_counter() - started)
                i += 1

    began = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return Result("boots", times, time.perf_counter() - began, errors)


def run(threads: int = 16, seconds: float = 4.0, rounds: int = 3) -> str:
    """Boots on the tree and pause/unpause on a bare 3-hop chain, alternately."""
    boots: list[Result] = []
    chained: list[Result] = []
    with ExitStack() as stack:
        top, groups = stack.enter_context(fake_tree(2, 3))
        head, hops = stack.enter_context(bare_chain(3))
        chain_uuids = [[str(uuidlib.uuid4()) for _ in range(4)] for _ in range(threads)]
        tree_meter, chain_meter = Meter(groups), Meter(hops)
        for _ in range(rounds):
            tree_meter.begin()
            boots.append(drive(top, threads, seconds))
            tree_meter.end(len(boots[-1].seconds) + len(boots[-1].errors))
            chain_meter.begin()
            chained.append(load.drive("chain", load.chain_connector(head), chain_uuids, seconds))
            chain_meter.end(len(chained[-1].seconds) + len(chained[-1].errors))
    tree = Result("boots", [t for r in boots for t in r.seconds], sum(r.wall for r in boots),
                  [e for r in boots for e in r.errors])
    chain = Result("chain", [t for r in chained for t in r.seconds],
                   sum(r.wall for r in chained), [e for r in chained for e in r.errors])
    ratio = tree.throughput / chain.throughput
    lines = [
        header(f"Boots end to end: top -> 2 routers -> 6 fake leaves, {threads} client threads,"
               " against pause/unpause on a bare 3-hop chain"),
        f"{rounds} rounds of about {seconds:g} s, boots on the tree and then calls on the chain",
        f"boots                          {tree.throughput:,.0f} boots/s  p50 {tree.p50:.2f} ms"
        f"  p99 {tree.p99:.2f} ms",
        f"bare gRPC chain, 3 hops        {chain.throughput:,.0f} calls/s  p50 {chain.p50:.2f} ms",
        f"ratio boots/s / chain calls/s  {ratio:.2f}x",
        f"CPU per boot, ms:  tree: {parts(tree_meter)}  (all {tree_meter.total_ms():.2f});"
        f"  chain per call: {parts(chain_meter)}  (all {chain_meter.total_ms():.2f})",
        *error_lines(tree),
        floor_line("boots/s / bare chain calls/s", ratio, TARGET_RATIO),
    ]
    return "\n".join(lines)


def parts(meter: Meter) -> str:
    return "  ".join(f"{name} {ms:.2f}" for name, ms in meter.per_call_ms().items())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(run(args.threads, args.seconds, args.rounds), flush=True)


if __name__ == "__main__":
    main()
