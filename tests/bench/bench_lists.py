"""How long does a list of 1,000 instances take through the top of a tree?

    python -m tests.bench.bench_lists [--calls N] [--instances K]

Two trees, each with fake-driver leaves of one big host (room for any
number of instances):

  10 leaves   top -> 2 routers -> 5 leaves each
  1 leaf      top -> 1 router -> 1 leaf

K instances (default 1,000) are booted through the top of each, from a pool
of threads, with target_cell spreading them evenly over the leaves. Then N
list calls (default 30), ListQuery(limit=K), one page each, are made
through the top, one at a time, after a short warm-up that is not counted.
The top of the 10-leaf tree merges the pages of its two routers, each the
merged pages of its five leaves; the 1-leaf tree has the same levels and
instances but nothing to merge.

Every timed list is checked: it must hold all K instances, no unreachable
cells and no next page token; any that does not, or that fails, is counted
and shown (a failed call is not timed).
Targets: 10 leaves p50 <= 100 ms, and 10 leaves / 1 leaf <= 2x.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cellops.tree import TreeRunner
from cellwire.client import CellClient, boot_spec
from model.cells import ListQuery
from model.errors import CellError
from tests.bench.harness import CALL_TIMEOUT, Result, error_lines, header, target_line
from tests.bench.trees import fanout_text, leaf_paths, write_tree

BOOT_THREADS = 16
LIST_WARMUP = 3
TARGET_P50_MS = 100.0
TARGET_RATIO = 2.0


@dataclass(frozen=True, slots=True)
class ListRun:
    result: Result
    boot_seconds: float
    instances: int


def run_list_tree(label: str, routers: int, leaves_per_router: int, instances: int,
                  calls: int) -> ListRun:
    """Start a fan-out tree, boot `instances` spread over its leaves, time lists."""
    with tempfile.TemporaryDirectory(prefix="cellrouter-bench-lists-") as tmp:
        spec = write_tree(fanout_text(routers, leaves_per_router), Path(tmp))
        runner = TreeRunner(spec, Path(tmp) / "state")
        try:
            top = runner.start()
            leaves = leaf_paths(spec)
            t0 = time.perf_counter()
            boot_spread(top, leaves, instances)
            boot_seconds = time.perf_counter() - t0
            with CellClient(top, timeout=CALL_TIMEOUT) as client:
                result = measure_lists(label, client, instances, calls)
            return ListRun(result, boot_seconds, instances)
        finally:
            runner.stop()


def boot_spread(top: str, leaves: list[str], count: int) -> None:
    """Boot `count` instances through the top, instance i on leaf i mod len(leaves)."""
    def boot(i: int) -> None:
        spec = boot_spec(f"list-{i:05d}", 1, 64, target_cell=leaves[i % len(leaves)])
        client.boot(spec)

    with CellClient(top, timeout=CALL_TIMEOUT) as client, \
            ThreadPoolExecutor(BOOT_THREADS) as pool:
        list(pool.map(boot, range(count)))  # re-raises the first failed boot


def measure_lists(label: str, client: CellClient, instances: int, calls: int) -> Result:
    query = ListQuery(limit=instances)
    for _ in range(LIST_WARMUP):
        client.list(query)
    seconds: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    for _ in range(calls):
        t0 = time.perf_counter()
        try:
            page = client.list(query)
        except CellError as exc:
            errors.append(f"list failed after {time.perf_counter() - t0:.3f} s: {exc}")
            continue
        seconds.append(time.perf_counter() - t0)
        if (len(page.instances) != instances or page.unreachable_cells
                or page.next_page_token):
            unknown = sum(1 for i in page.instances if i.state.value == "unknown")
            errors.append(f"list returned {len(page.instances)} instances ({unknown} UNKNOWN),"
                          f" unreachable {list(page.unreachable_cells)},"
                          f" next token {'set' if page.next_page_token else 'empty'}")
    return Result(label, seconds, time.perf_counter() - start, errors)


def run(calls: int = 30, instances: int = 1000) -> str:
    wide = run_list_tree("10 leaves (top > 2 > 5 each)", 2, 5, instances, calls)
    narrow = run_list_tree("1 leaf (top > 1 > 1)", 1, 1, instances, calls)
    return report(wide, narrow, calls)


def report(wide: ListRun, narrow: ListRun, calls: int) -> str:
    ratio_label = "ratio 10 leaves / 1 leaf"
    width = max(len(wide.result.label), len(narrow.result.label), len(ratio_label))
    lines = [
        header(f"Lists: {wide.instances:,} instances, one page, through the top"),
        f"{calls} sequential List calls (limit={wide.instances}), {LIST_WARMUP} warm-up calls"
        f" excluded; instances booted in {wide.boot_seconds:.1f} s (10 leaves)"
        f" and {narrow.boot_seconds:.1f} s (1 leaf) from {BOOT_THREADS} threads",
    ]
    for r in (wide.result, narrow.result):
        lines.append(f"{r.label:<{width}} p50 {r.p50:.2f} ms  p99 {r.p99:.2f} ms")
    ratio_p50 = wide.result.p50 / narrow.result.p50
    lines.append(f"{ratio_label:<{width}} p50 {ratio_p50:.1f}x"
                 f"  p99 {wide.result.p99 / narrow.result.p99:.1f}x")
    lines.append(target_line("10 leaves p50", wide.result.p50, TARGET_P50_MS, " ms"))
    lines.append(target_line("10 leaves / 1 leaf p50", ratio_p50, TARGET_RATIO))
    for r in (wide.result, narrow.result):
        lines += error_lines(r)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_lists",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=30, help="timed lists (default 30)")
    parser.add_argument("--instances", type=int, default=1000,
                        help="instances to boot and list, at most 1000 (default 1000)")
    args = parser.parse_args(argv)
    if args.calls < 1 or not 1 <= args.instances <= 1000:
        parser.error("--calls must be at least 1, --instances between 1 and 1000")
    print(run(args.calls, args.instances))


if __name__ == "__main__":
    main()
