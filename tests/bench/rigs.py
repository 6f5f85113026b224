"""What the routing benchmarks run against, kept up side by side so that their
calls can be interleaved: a tree of cell processes, and a bare chain.

    fake_tree(routers, leaves, direct_to_leaf)   a tree of fake leaves; yields its
                                                 top's address and its processes
                                                 by level ("top", "routers", "leaves")
    bare_chain(length)                           `length` tests.bench.chain
                                                 processes; yields the head's
                                                 address and its processes by hop
    bare_fanout(routers, leaves)                 tests.bench.chain processes in the
                                                 shape of fake_tree(routers, leaves),
                                                 each call taking one path by its
                                                 uuid; yields the top's address and
                                                 its processes by level (with
                                                 leaves=0, the routers answer)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cellops.tree import TreeRunner, free_ports
from tests.bench.harness import HOST, start_chain, stop_chain, wait_ready
from tests.bench.trees import fanout_text, write_tree

LEVELS = ("top", "routers", "leaves")


@contextmanager
def fake_tree(routers: int = 2, leaves: int = 2, direct_to_leaf: bool = False,
              log_level: str = "WARNING") -> Iterator[tuple[str, dict[str, list[int]]]]:
    with tempfile.TemporaryDirectory(prefix="cellrouter-bench-") as tmp:
        text = fanout_text(routers, leaves, direct_to_leaf=direct_to_leaf)
        runner = TreeRunner(write_tree(text, Path(tmp)), Path(tmp) / "state", log_level)
        try:
            top = runner.start()
            groups = {name: [runner.procs[c.name].pid for c in level]
                      for name, level in zip(LEVELS, runner.spec.levels(), strict=True)}
            yield top, groups
        finally:
            runner.stop()


@contextmanager
def bare_chain(length: int) -> Iterator[tuple[str, dict[str, list[int]]]]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        head = start_chain(procs, length)  # the last process first
        hops = {f"hop {n + 1}": [proc.pid] for n, proc in enumerate(reversed(procs))}
        yield head, hops
    finally:
        stop_chain(procs)


@contextmanager
def bare_fanout(routers: int = 2, leaves: int = 2) -> Iterator[tuple[str, dict[str, list[int]]]]:
    procs: list[subprocess.Popen[bytes]] = []
    ports = iter(free_ports(HOST, 1 + routers + routers * leaves))

    def start(nexts: list[str]) -> tuple[str, int]:
        address = f"{HOST}:{next(ports)}"
        args = [sys.executable, "-m", "tests.bench.chain", "--listen", address]
        for n in nexts:
            args += ["--next", n]
        procs.append(subprocess.Popen(args, stdin=subprocess.DEVNULL))
        wait_ready(address, procs[-1])
        return address, procs[-1].pid

    try:
        groups: dict[str, list[int]] = {name: [] for name in LEVELS}
        middle = []
        for _ in range(routers):
            ends = [start([]) for _ in range(leaves)]
            groups["leaves"] += [pid for _, pid in ends]
            address, pid = start([a for a, _ in ends])
            middle.append(address)
            groups["routers"].append(pid)
        top, pid = start(middle)
        groups["top"].append(pid)
        yield top, groups
    finally:
        stop_chain(procs)
