"""What surviving a process's death costs: remembering actions, and restarts.

    python -m tests.bench.bench_restarts [--actions N] [--rounds R]

  remembered  a leaf (fake driver, SQLite database) applies N pause/unpause
              actions (default 2,000) through LeafCell.act, in this process:
              with its memory of request ids (cells.outcomes: a read and two
              writes per action) and without, alternately, R rounds (default
              3); the CPU time per action of each, and their ratio
  restarts    `cellrouter up` runs a small tree (top -> r1 -> a fake leaf, the
              API process, one agent); each of r1, the leaf, the API and the
              agent is killed with SIGKILL in turn, R rounds, each after it has
              been up 10 s (a quicker death counts as failing at start-up, and
              waits longer): the time until it serves again, split into `up`
              noticing and waiting (0.5 s) and the new process starting until
              it serves
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from bestmatch.selectors import RandomSelector
from cellops.supervise import STABLE
from cells.backend import Identity
from cells.leaf import LeafCell
from cells.outcomes import ActionOutcomes
from cellwire.agents import AgentsClient
from cellwire.client import CellClient, boot_spec
from model.call import Call
from model.cells import CellKind
from model.compute import Action, Resources
from routing.index import LocationIndex
from tests.bench.harness import header
from virt.fake import FakeDriver, FakeHost

SAFETY = 120.0  # seconds: a bound on each wait, never reached by a working tree


# ------------------------------------------------------------- remembered


def actions_cpu(directory: Path, actions: int, remember: bool) -> float:
    """CPU seconds per action of a leaf applying `actions` pause/unpause."""
    index = LocationIndex.open(f"sqlite:///{directory / f'leaf-{remember}.db'}")
    driver = FakeDriver([FakeHost("h1", Resources(64, 65536, 1000))])

    async def run() -> float:
        leaf = LeafCell(Identity("leaf", "127.0.0.1:0", "top!leaf", CellKind.LEAF), driver,
                        index, RandomSelector(seed=1),
                        outcomes=ActionOutcomes(index) if remember else None)
        try:
            uuid = (await leaf.boot(boot_spec("vm", 1, 512), Call())).uuid
            started = time.process_time()
            for n in range(actions):
                action = Action.PAUSE if n % 2 == 0 else Action.UNPAUSE
                await leaf.act(uuid, action, True, Call(request_id=f"r{remember}-{n}"))
            return (time.process_time() - started) / actions
        finally:
            await leaf.close()

    try:
        return asyncio.run(run())
    finally:
        index.close()


def remembered(actions: int, rounds: int) -> list[str]:
    per: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for remember in (False, True) if r % 2 == 0 else (True, False):  # interleaved
                round_dir = Path(tmp) / f"{r}"
                round_dir.mkdir(exist_ok=True)
                per[remember].append(actions_cpu(round_dir, actions, remember))
    with_ms = statistics.median(per[True]) * 1000
    without_ms = statistics.median(per[False]) * 1000
    return [header(f"a leaf's action, remembered by request id ({actions} actions,"
                   f" {rounds} rounds, SQLite)"),
            f"  CPU per action with the memory: {with_ms:.3f} ms"
            f" (rounds {', '.join(f'{s * 1000:.3f}' for s in per[True])})",
            f"  CPU per action without:         {without_ms:.3f} ms"
            f" (rounds {', '.join(f'{s * 1000:.3f}' for s in per[False])})",
            f"  ratio: {with_ms / without_ms:.2f}x (+{with_ms - without_ms:.3f} ms per action)"]


# --------------------------------------------------------------- restarts

TREE = """
[tree]
insecure = true
report_interval = 0.2
down_after = 5

[api]

[cells.top]

[cells.r1]
parent = "top"

[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{ name = "h1", vcpus = 64, memory_mb = 65536, disk_gb = 1000 }]

[[agents]]
cell = "z1"
id = "a1"
kind = "loadbalancer"
"""


def wait(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SAFETY
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # not serving yet
            pass
        time.sleep(0.02)
    raise TimeoutError(f"not within {SAFETY:g} s: {what}")


class Tree:
    def __init__(self, directory: Path) -> None:
        (directory / "tree.toml").write_text(TREE)
        self.state = directory / "state"
        self.out = directory / "up.out"
        with self.out.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cellops.cli", "up", str(directory / "tree.toml"),
                 "--state-dir", str(self.state)], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        wait(lambda: "cells up;" in self.out.read_text(), "the tree to start")
        lines = self.out.read_text().splitlines()
        self.top = next(x for x in lines if x.startswith("top: ")).removeprefix("top: ")
        self.api = next(x for x in lines if x.startswith("api: ")).removeprefix("api: ")

    def processes(self) -> dict[str, dict[str, object]]:
        data = json.loads((self.state / "processes.json").read_text())
        return {str(p["name"]): p for p in data["processes"]}

    def serving(self, name: str) -> Callable[[], bool]:
        if name == "api":
            return lambda: urllib.request.urlopen(f"{self.api}/", timeout=2).status == 200
        if name.startswith("agent"):
            since = float(str(self.processes()[name]["since"]))
            return lambda: self._agent_heard_since(since)
        cell = name.removeprefix("cell ")
        return lambda: self._cell_up(cell)

    def _cell_up(self, cell: str) -> bool:
        with CellClient(self.top, timeout=2) as top:
            node = next(n for n in top.topology().walk() if n.name == cell)
        return node.up and not node.unreachable and node.capacity.hosts > 0

    def _agent_heard_since(self, since: float) -> bool:
        """The leaf heard agent a1 after `since` (wall time): the new process."""
        async def ask() -> bool:
            with CellClient(self.top, timeout=2) as top:
                leaf = next(n for n in top.topology().walk() if n.name == "z1").address
            client = AgentsClient(leaf, timeout=2)
            try:
                [(agent, _)] = await client.agents()
            finally:
                await client.close()
            return agent.alive and time.time() - agent.heard_ago > since

        return asyncio.run(ask())

    def kill(self, name: str) -> tuple[float, float]:
        """SIGKILL `name`; (seconds until `up` started it again, until it serves)."""
        # A process killed again soon after a start counts as failing at start-up,
        # and waits longer (cellops.supervise): this measures a first death.
        since = float(str(self.processes()[name]["since"]))
        time.sleep(max(0.0, since + STABLE + 0.5 - time.time()))
        old = int(str(self.processes()[name]["pid"]))
        killed_at = time.time()
        os.kill(old, signal.SIGKILL)
        wait(lambda: self.processes()[name]["pid"] != old
             and self.processes()[name]["state"] == "running", f"{name} started again")
        started_at = float(str(self.processes()[name]["since"]))
        wait(self.serving(name), f"{name} serving")
        return started_at - killed_at, time.time() - killed_at

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def restarts(rounds: int) -> list[str]:
    names = ["cell r1", "cell z1", "api", "agent a1"]
    seen: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        tree = Tree(Path(tmp))
        try:
            for _ in range(rounds):
                for name in names:
                    seen[name].append(tree.kill(name))
        finally:
            tree.stop()
    lines = [header(f"restarts under cellrouter up (SIGKILL, {rounds} rounds each;"
                    " median seconds)"),
             f"  {'process':10} {'serving again':>14} {'up noticed+waited':>18}"
             f" {'start to serve':>15} {'total/start':>12}"]
    for name in names:
        total = statistics.median(t for _, t in seen[name])
        launch = statistics.median(s for s, _ in seen[name])
        start = statistics.median(t - s for s, t in seen[name])
        lines.append(f"  {name:10} {total:13.2f}s {launch:17.2f}s {start:14.2f}s"
                     f" {total / start:11.2f}x")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores")
    for line in remembered(args.actions, args.rounds) + restarts(args.rounds):
        print(line, flush=True)


if __name__ == "__main__":
    main()
