"""A real tree of cell processes on loopback for the integration tests.

    top ─┬─ r1 ─┬─ z1  (leaf: h1 8 vCPU/16 GB, h2 4 vCPU/8 GB)
         │      └─ z2  (leaf: h3 8 vCPU/16 GB)
         └─ r2 ─── z3  (leaf: h4 16 vCPU/32 GB)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cellops.tree import TreeRunner
from cellops.tree_spec import load_tree
from cellwire.client import CellClient

# Fast reports, and the top with one router below it: every test tree starts so.
HEAD = """
[tree]
insecure = true
report_interval = 0.2
down_after = 3

[cells.top]
[cells.r1]
parent = "top"
"""

TREE = HEAD + """
[cells.r2]
parent = "top"

[flavors]
small = { vcpus = 1, memory_mb = 2048, disk_gb = 10 }

[cells.z1]
parent = "r1"
driver = "fake"
hosts = [
  { name = "h1", vcpus = 8, memory_mb = 16384, disk_gb = 100 },
  { name = "h2", vcpus = 4, memory_mb = 8192, disk_gb = 50 },
]

[cells.z2]
parent = "r1"
driver = "fake"
hosts = [{ name = "h3", vcpus = 8, memory_mb = 16384, disk_gb = 100 }]

[cells.z3]
parent = "r2"
driver = "fake"
hosts = [{ name = "h4", vcpus = 16, memory_mb = 32768, disk_gb = 200 }]
"""

LEAVES = {"z1": "top!r1!z1", "z2": "top!r1!z2", "z3": "top!r2!z3"}
# A bound against a hang for what a tree of processes is waited on to do (a
# cell marked down, a call refused at once): never a pace, and far beyond what
# a slow machine takes.
PATIENCE = 120.0


def start_tree(tmp: Path, text: str = TREE) -> TreeRunner:
    (tmp / "tree.toml").write_text(text)
    runner = TreeRunner(load_tree(tmp / "tree.toml"), tmp / "state")
    runner.start(timeout=60)
    return runner


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    """One tree shared by a module's tests; they must leave it as they found it."""
    runner = start_tree(tmp_path_factory.mktemp("tree"))
    yield runner
    runner.stop()


@pytest.fixture
def private_tree(tmp_path: Path) -> Iterator[TreeRunner]:
    """A tree of its own, for tests that kill or restart cells."""
    runner = start_tree(tmp_path)
    yield runner
    runner.stop()


@pytest.fixture
def top(tree: TreeRunner) -> Iterator[CellClient]:
    with CellClient(tree.top_address, timeout=10) as client:
        yield client


def leaf_client(runner: TreeRunner, leaf_path: str) -> CellClient:
    name = leaf_path.rsplit("!", 1)[-1]
    return CellClient(runner.addresses[name], timeout=10)


def eventually(check: Callable[[], bool], timeout: float = PATIENCE,
               step: float = 0.05) -> bool:
    """True as soon as `check()` is; False if it never was within `timeout` seconds.

    Cells report to their parents on an interval, so what one cell changed
    shows at the top a moment later. The bound is against a hang, not a pace:
    a check that is true at all is true long before it.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


def seen_down(top: CellClient, path: str) -> bool:
    """The top's topology has the cell at `path` down: its parent counts it so."""
    return any(n.path == path and not n.up for n in top.topology().walk())
