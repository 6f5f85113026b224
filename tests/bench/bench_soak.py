"""Sustained load at the top of a tree: throughput, p99, errors, and whether memory stays flat.

    python -m tests.bench.bench_soak [--seconds S] [--threads T]

T client threads (default 16) send pause/unpause calls (wait=True) to the top
of the demo tree, hop by hop, for S seconds (default 180), as bench_load does.
Meanwhile the top cell's resident memory (VmRSS from /proc) is read every
five seconds. The figures are throughput, p50 and p99 over the whole run,
every failed call, and the top's memory at the end of the first fifth of the
run (once caches and pools are warm) against its memory at the end.
Loopback only; nothing but the tree's own processes is started.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from cellops.tree import TreeRunner
from tests.bench.bench_load import boot_all, connect_to, drive
from tests.bench.harness import error_lines, header
from tests.bench.trees import demo_text, write_tree

SAMPLE_EVERY = 5.0


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def sample(pid: int, stop: threading.Event, into: list[tuple[float, int]]) -> None:
    start = time.perf_counter()
    while not stop.wait(SAMPLE_EVERY):
        into.append((time.perf_counter() - start, rss_kb(pid)))


def run(seconds: float, threads: int, per_thread: int = 4) -> str:
    with tempfile.TemporaryDirectory(prefix="cellrouter-bench-soak-") as tmp:
        runner = TreeRunner(write_tree(demo_text(), Path(tmp)), Path(tmp) / "state", "WARNING")
        try:
            top = runner.start()
            uuids = boot_all(top, threads, per_thread)
            pid = runner.procs["top"].pid
            samples: list[tuple[float, int]] = [(0.0, rss_kb(pid))]
            stop = threading.Event()
            sampler = threading.Thread(target=sample, args=(pid, stop, samples), daemon=True)
            sampler.start()
            try:
                result = drive(f"cell tree, 3 levels, {threads} threads", connect_to(top),
                               uuids, seconds)
            finally:
                stop.set()
                sampler.join()
            samples.append((seconds, rss_kb(pid)))
        finally:
            runner.stop()
    warm_at, warm = next(((t, kb) for t, kb in samples if t >= seconds / 5), samples[-1])
    end, peak = samples[-1][1], max(kb for _, kb in samples)
    lines = [
        header(f"Soak: {threads} client threads, pause/unpause (wait=True) at the top for"
               f" {seconds:g} s"),
        f"{result.label}: {result.throughput:.0f} calls/s ({len(result.seconds)} calls in"
        f" {result.wall:.1f} s)  p50 {result.p50:.2f} ms  p99 {result.p99:.2f} ms"
        f"  errors {len(result.errors)}",
        f"top cell memory (RSS): {samples[0][1] / 1024:.1f} MB at start,"
        f" {warm / 1024:.1f} MB after {warm_at:.0f} s, {end / 1024:.1f} MB at the end"
        f" (peak {peak / 1024:.1f} MB); end / warm = {end / warm:.3f}",
    ]
    return "\n".join(lines + error_lines(result))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_soak",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=180.0,
                        help="timed seconds (default 180)")
    parser.add_argument("--threads", type=int, default=16, help="client threads (default 16)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.threads < 1:
        parser.error("--seconds and --threads must be positive")
    print(run(args.seconds, args.threads))


if __name__ == "__main__":
    main()
