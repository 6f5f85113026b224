"""Service objects placed through the tree, beside boots; and failover time.

    python -m tests.bench.bench_agents [--threads T] [--seconds S] [--rounds R]
                                       [--objects N]

  placements  The fan-out tree (top -> 2 regions -> 2 fake leaf cells each),
              every cell its own process, one reference agent process per
              leaf (kind loadbalancer, capability haproxy; each writes its
              objects' files and reports them ACTIVE). T client threads
              (default 16) place objects through the top for S seconds
              (default 4), then boot instances for S seconds, alternately, R
              rounds (default 3): calls per second, latency, and the cells' CPU
              time per call from /proc, each beside the other.
  failover    One leaf with failover on (down_after 1 s) and two agents; N
              objects (default 1,000) on the first, which is then killed. The
              time from its last report until every object is bound to the
              second agent, and the part of it after the 2 s the leaf waits
              before calling an agent dead; then until the survivor's files
              hold them all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cellops.tree import TreeRunner
from cellwire.agents import AgentsClient
from cellwire.client import CellClient, boot_spec
from model.agents import PlaceSpec
from tests.bench.cpu import Meter
from tests.bench.harness import CALL_TIMEOUT, Result, error_lines, header
from tests.bench.trees import fanout_text, write_tree

AGENT = [sys.executable, "-m", "cellops.cli", "agent", "--kind", "loadbalancer",
         "--capability", "haproxy"]


def start_agent(cell: str, state: Path, agent_id: str, interval: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*AGENT, "--cell", cell, "--state-dir", str(state), "--id", agent_id,
                             "--interval", str(interval)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Placer:
    """One thread's own channel to the top, placing objects."""

    def __init__(self, top: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = self.loop.run_until_complete(self._make(top))

    async def _make(self, top: str) -> AgentsClient:
        return AgentsClient(top, timeout=CALL_TIMEOUT)

    def place(self, name: str) -> object:
        spec = PlaceSpec(f"req-{uuidlib.uuid4()}", name, "loadbalancer", ("haproxy",))
        return self.loop.run_until_complete(self.client.place(spec))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


def drive(label: str, threads: int, seconds: float,
          connect: Callable[[], tuple[Callable[[int], object], Callable[[], None]]]) -> Result:
    """`threads` threads call `call(n)` for `seconds`, each on its own connection."""
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(threads + 1)
    stop = threading.Event()

    def worker(n: int) -> None:
        call, close = connect()
        try:
            call(-1 - n)  # warm the connection
            ready.wait()
            k = 0
            while not stop.is_set():
                k += 1
                started = time.perf_counter()
                try:
                    call(n * 1_000_000 + k)
                    spent = time.perf_counter() - started
                    with lock:
                        times.append(spent)
                except Exception as exc:
                    with lock:
                        errors.append(str(exc)[:160])
        finally:
            close()

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(worker, n) for n in range(threads)]
        ready.wait()
        began = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for f in futures:
            f.result()
        wall = time.perf_counter() - began
    return Result(label, times, wall, errors)


def placements(runner: TreeRunner, tmp: Path, threads: int, seconds: float,
               rounds: int) -> list[str]:
    leaves = [c.name for c in runner.spec.cells if c.driver]
    agents = [start_agent(runner.addresses[leaf], tmp / f"agent-{leaf}", f"lb-{leaf}",
                          runner.spec.report_interval) for leaf in leaves]
    try:
        top = runner.top_address
        with CellClient(top, timeout=10) as client:
            deadline = time.monotonic() + 30
            while dict(client.topology().capacity.agents).get("loadbalancer/haproxy") != len(
                    leaves):
                if time.monotonic() > deadline:
                    raise RuntimeError("the agents did not show at the top within 30 s")
                time.sleep(0.1)

        def placer() -> tuple[Callable[[int], object], Callable[[], None]]:
            p = Placer(top)
            return (lambda n: p.place(f"vip-{n}")), p.close

        def booter() -> tuple[Callable[[int], object], Callable[[], None]]:
            c = CellClient(top, timeout=CALL_TIMEOUT)
            return (lambda n: c.boot(boot_spec(f"vm-{n}", 1, 64, 1))), c.close

        cells = {"cells": [p.pid for p in runner.procs.values()],
                 "agents": [a.pid for a in agents]}
        sides = {"place": (placer, Meter(cells)), "boot": (booter, Meter(cells))}
        runs: dict[str, list[Result]] = {"place": [], "boot": []}
        for _ in range(rounds):
            for side, (connect, meter) in sides.items():
                meter.begin()
                done = drive(side, threads, seconds, connect)
                meter.end(len(done.seconds) + len(done.errors))
                runs[side].append(done)
        lines = [header(f"Placements through the top beside boots: {threads} threads,"
                        f" {len(leaves)} leaves with one agent each")]
        rates = {}
        for side, label in (("place", "place an object"), ("boot", "boot an instance")):
            merged = Result(label, [s for r in runs[side] for s in r.seconds],
                            sum(r.wall for r in runs[side]),
                            [e for r in runs[side] for e in r.errors])
            rates[side] = merged.throughput
            cpu = sides[side][1].per_call_ms()
            lines.append(f"{label:<17} {merged.throughput:.0f} calls/s  p50 {merged.p50:.2f} ms"
                         f"  p99 {merged.p99:.2f} ms  CPU per call: cells {cpu['cells']:.2f} ms,"
                         f" agents {cpu['agents']:.2f} ms")
            lines += error_lines(merged)
        lines.append(f"ratio placements / boots: calls/s {rates['place'] / rates['boot']:.2f}x")
        return lines
    finally:
        for agent in agents:
            agent.kill()
            agent.wait()


FAILOVER_TREE = """
[tree]
host = "127.0.0.1"
report_interval = 0.2
down_after = 4
insecure = true

[cells.top]

[cells.leaf]
parent = "top"
driver = "fake"
hosts = [{ name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]
[cells.leaf.agents]
down_after = 1.0
failover = true
failover_threshold = 1
"""


def failover(tmp: Path, objects: int) -> list[str]:
    runner = TreeRunner(write_tree(FAILOVER_TREE, tmp, "failover.toml"), tmp / "fo-state",
                        "WARNING")
    runner.start()
    leaf = runner.addresses["leaf"]
    first = start_agent(leaf, tmp / "fo-a", "fo-a", 0.2)
    second: subprocess.Popen[bytes] | None = None
    try:
        async def setup() -> None:
            client = AgentsClient(leaf, timeout=CALL_TIMEOUT)
            try:
                while not [a for a, _ in await client.agents() if a.id == "fo-a"]:
                    await asyncio.sleep(0.1)
                for n in range(objects):  # all on fo-a, the only agent yet
                    await client.place(PlaceSpec(f"req-fo-{n}", f"fo-{n}", "loadbalancer",
                                                 ("haproxy",)))
            finally:
                await client.close()

        asyncio.run(setup())
        second = start_agent(leaf, tmp / "fo-b", "fo-b", 0.2)

        async def count(agent: str) -> int:
            client = AgentsClient(leaf, timeout=CALL_TIMEOUT)
            try:
                return len(await client.objects(agent=agent))
            finally:
                await client.close()

        while asyncio.run(count("fo-a")) != objects or not (tmp / "fo-b" / "revision").exists():
            time.sleep(0.1)  # fo-b is known and watching
        first.kill()
        killed = time.monotonic()  # its last report was at most one interval before
        first.wait()
        while asyncio.run(count("fo-b")) < objects:
            time.sleep(0.05)
        bound = time.monotonic() - killed
        while len(list((tmp / "fo-b" / "objects").glob("*.json"))) < objects:
            time.sleep(0.05)
        applied = time.monotonic() - killed
        return [header(f"Failover: an agent holding {objects:,} objects killed (SIGKILL),"
                       " down_after 1 s, failover on"),
                f"all {objects:,} bound to the other agent {bound:.2f} s after the kill"
                f" ({bound - 2.0:.2f} s after the 2 s the leaf waits before calling an agent"
                " dead; rounds run every 0.5 s)",
                f"all in the other agent's files {applied:.2f} s after the kill"]
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.kill()
                proc.wait()
        runner.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_agents",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--objects", type=int, default=1000)
    args = parser.parse_args(argv)
    print(f"{platform.python_implementation()} {platform.python_version()};"
          f" {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-agents-") as name:
        tmp = Path(name)
        runner = TreeRunner(write_tree(fanout_text(2, 2), tmp), tmp / "state", "WARNING")
        try:
            runner.start()
            print("\n".join(placements(runner, tmp, args.threads, args.seconds, args.rounds)),
                  flush=True)
        finally:
            runner.stop()
        print("\n".join(failover(tmp, args.objects)), flush=True)


if __name__ == "__main__":
    main()
