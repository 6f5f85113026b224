"""What the routing benchmarks run against, kept up side by side so that their
calls can be interleaved: a tree of cell processes, and a bare chain.

    fake_tree(routers, leaves, direct_to_leaf)   a tree of fake leaves; yields its
                                                 top's address and its processes
                                                 by level ("top", "routers", "leaves")
    bare_chain(length)                           `length` tests.bench.chain
                                                 processes; yields the head's
                                                 address and its processes by hop
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cells.ops.tree import TreeRunner
from tests.bench.harness import start_chain, stop_chain
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
