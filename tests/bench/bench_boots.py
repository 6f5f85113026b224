"""How many boots per second a three-level tree of processes places and builds.

    python -m tests.bench.bench_boots [--threads N] [--seconds S]

The tree is top -> 2 routers -> 3 fake leaves each (one big host per leaf,
so capacity never runs out). N client threads boot 1-vCPU instances through
the top for S seconds; every boot is a full placement at each level (the
selector over the children's reported capacity, then over the leaf's hosts),
index writes at every level, and a claim on the fake hypervisor. Reported:
boots per second and the p50/p99 latency of one boot.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from cells.client import CellClient, boot_spec
from cells.ops.tree import TreeRunner
from model.errors import CellError
from tests.bench.harness import Result, error_lines, header
from tests.bench.trees import fanout_text, write_tree

TARGET_BOOTS_PER_S = 500.0


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


def run(threads: int = 16, seconds: float = 10.0) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-boots-") as tmp:
        spec = write_tree(fanout_text(2, 3), Path(tmp))
        runner = TreeRunner(spec, Path(tmp) / "state", log_level="WARNING")
        try:
            top = runner.start(timeout=60)
            result = drive(top, threads, seconds)
        finally:
            runner.stop()
    lines = [
        header(f"Boots end to end: top -> 2 routers -> 6 fake leaves, {threads} client threads"),
        f"{len(result.seconds)} boots in {result.wall:.1f} s: {result.throughput:,.0f} boots/s"
        f"  p50 {result.p50:.2f} ms  p99 {result.p99:.2f} ms",
        *error_lines(result),
        f"target: >= {TARGET_BOOTS_PER_S:.0f} boots/s end to end: {result.throughput:,.0f},"
        f" {'met' if result.throughput >= TARGET_BOOTS_PER_S else 'MISSED'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    print(run(args.threads, args.seconds), flush=True)


if __name__ == "__main__":
    main()
