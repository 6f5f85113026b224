"""What a second replica of the top cell gives, and how long its loss is felt.

    python -m tests.bench.bench_replicas [--threads T] [--seconds S] [--rounds R]

The demo tree's shape with fake leaves (top -> 2 regions -> 2 leaf cells each),
the top running as two replicas over one PostgreSQL database
(CELLROUTER_TEST_PG_URL, else the local server), every cell its own process.

  throughput  T client threads (default 16) pause and unpause (wait=True)
              through the top for S seconds (default 4), given one replica's
              address and then both (their calls balanced round robin),
              alternately, R rounds (default 3); with the CPU time per call of
              the top's replicas and of the other cells, from /proc
  failover    T threads read (Get) through both replicas while one is killed
              with SIGKILL: the longest time any thread went without an answer,
              and how many calls failed (reads are sent again to the other
              replica, so none should)

On two cores, two replicas cannot double the calls per second: every process
of the tree shares the same cores. The CPU time per routed call is the figure
to size a larger deployment by.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from celldb.errors import DatabaseUnavailable
from cellops.tree import TreeRunner
from cellwire.channels import split_addresses
from cellwire.client import CellClient
from tests.bench.bench_index import DEFAULT_PG_URL, pg_schema, redact
from tests.bench.bench_load import boot_all, connect_to, drive
from tests.bench.cpu import Meter
from tests.bench.harness import CALL_TIMEOUT, Result, error_lines, header
from tests.bench.trees import fanout_text, write_tree


def tree_text(url: str) -> str:
    text = fanout_text(2, 2)
    return text.replace("[cells.top]", f'[cells.top]\nreplicas = 2\ndatabase_url = "{url}"', 1)


def throughput(runner: TreeRunner, threads: int, seconds: float, rounds: int) -> list[str]:
    top = runner.spec.top
    groups = {"top replicas": [runner.procs[k].pid for k in top.processes()],
              "other cells": [p.pid for k, p in runner.procs.items()
                              if k not in top.processes()]}
    one, both = split_addresses(runner.addresses["top"])[0], runner.addresses["top"]
    uuids = boot_all(both, threads, 4)
    sides = {"one": (one, Meter(groups), []), "both": (both, Meter(groups), [])}
    runs: dict[str, list[Result]] = {"one": [], "both": []}
    for _ in range(rounds):
        for side, (address, meter, _) in sides.items():
            meter.begin()
            done = drive(f"{side}", connect_to(address), uuids, seconds)
            meter.end(len(done.seconds) + len(done.errors))
            runs[side].append(done)
    lines = [header(f"Throughput: {threads} threads, routed pause/unpause, one top replica"
                    " against two")]
    rates = {}
    for side, label in (("one", "one replica's address"), ("both", "both replicas")):
        merged = Result(label, [s for r in runs[side] for s in r.seconds],
                        sum(r.wall for r in runs[side]), [e for r in runs[side] for e in r.errors])
        rates[side] = merged.throughput
        cpu = sides[side][1].per_call_ms()
        lines.append(f"{label:<22} {merged.throughput:.0f} calls/s  p50 {merged.p50:.2f} ms"
                     f"  p99 {merged.p99:.2f} ms  CPU per call: top replicas"
                     f" {cpu['top replicas']:.2f} ms, other cells {cpu['other cells']:.2f} ms")
        lines += error_lines(merged)
    lines.append(f"ratio two replicas / one: calls/s {rates['both'] / rates['one']:.2f}x"
                 f" ({os.cpu_count()} cores for all {len(runner.procs)} cell processes and"
                 " the clients)")
    return lines


def failover(runner: TreeRunner, threads: int, seconds: float) -> list[str]:
    both = runner.addresses["top"]
    uuids = [u for per in boot_all(both, threads, 1) for u in per]
    gaps = [0.0] * threads
    failures: list[str] = []
    stop = threading.Event()

    def reader(n: int) -> None:
        with CellClient(both, timeout=CALL_TIMEOUT) as client:
            last = time.perf_counter()
            while not stop.is_set():
                try:
                    client.get(uuids[n])
                except Exception as exc:
                    failures.append(str(exc)[:160])
                    continue
                now = time.perf_counter()
                gaps[n] = max(gaps[n], now - last)
                last = now

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(reader, n) for n in range(threads)]
        time.sleep(seconds / 2)
        runner.kill_cell(runner.spec.top.processes()[1], signal.SIGKILL)
        time.sleep(seconds / 2)
        stop.set()
        for f in futures:
            f.result()
    lines = [header(f"Failover: {threads} threads reading through both top replicas, one"
                    " killed with SIGKILL"),
             f"longest time without an answer: {max(gaps) * 1000:.0f} ms (any thread);"
             f" failed calls: {len(failures)}"]
    lines += [f"  {f}" for f in sorted(set(failures))[:3]]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_replicas",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    base = os.environ.get("CELLROUTER_TEST_PG_URL") or DEFAULT_PG_URL
    print(f"{platform.python_implementation()} {platform.python_version()}; PostgreSQL at"
          f" {redact(base)}", flush=True)
    try:
        with pg_schema(base) as url, tempfile.TemporaryDirectory(prefix="bench-rep-") as tmp:
            runner = TreeRunner(write_tree(tree_text(url), Path(tmp)), Path(tmp) / "state",
                                "WARNING")
            try:
                runner.start()
                print("\n".join(throughput(runner, args.threads, args.seconds, args.rounds)),
                      flush=True)
                print("\n".join(failover(runner, args.threads, args.seconds)), flush=True)
            finally:
                runner.stop()
    except (SQLAlchemyError, DatabaseUnavailable) as exc:
        print(f"skipped: cannot use PostgreSQL at {redact(base)}: {str(exc).splitlines()[0]}")


if __name__ == "__main__":
    main()
