"""Lists across cells: paged, sorted, complete, and partial rather than failed."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from cellops.tree import TreeRunner
from cellwire.client import CellClient, boot_spec
from model.cells import ListQuery
from model.compute import Instance, InstanceState
from tests.integration.conftest import HEAD, PATIENCE, start_tree

BIG = '{ name = "%s", vcpus = 4000, memory_mb = 4000000, disk_gb = 100000 }'
LIST_TREE = HEAD + f"""
[cells.r2]
parent = "top"

[cells.z1]
parent = "r1"
driver = "fake"
hosts = [{BIG % "h1"}]

[cells.z2]
parent = "r1"
driver = "fake"
hosts = [{BIG % "h2"}]

[cells.z3]
parent = "r2"
driver = "fake"
hosts = [{BIG % "h3"}]
"""
PER_LEAF = 200
LEAVES = ["top!r1!z1", "top!r1!z2", "top!r2!z3"]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TreeRunner, list[str]]]:
    runner = start_tree(tmp_path_factory.mktemp("lists"), LIST_TREE)
    try:
        with CellClient(runner.top_address, timeout=30) as top, ThreadPoolExecutor(8) as pool:
            def boot(n: int) -> str:
                leaf = LEAVES[n % 3]
                # Names repeat across leaves on purpose: the uuid breaks ties.
                spec = boot_spec(f"vm-{n // 6:03}", 1, 64, target_cell=leaf,
                                 project="even" if n % 2 == 0 else "odd")
                return top.boot(spec).uuid

            booted = list(pool.map(boot, range(PER_LEAF * 3)))
        yield runner, booted
    finally:
        runner.stop()


def _all_pages(top: CellClient, query: ListQuery) -> list[Instance]:
    seen: list[Instance] = []
    token = ""
    while True:
        page = top.list(replace(query, page_token=token))
        seen.extend(page.instances)
        assert not page.unreachable_cells
        if not page.next_page_token:
            return seen
        token = page.next_page_token


@pytest.mark.parametrize("sort", ["name", "created_at"])
@pytest.mark.parametrize("limit", [37, 100, 1000])
def test_pages_cover_every_instance_once_in_order(
    filled: tuple[TreeRunner, list[str]], sort: str, limit: int
) -> None:
    runner, booted = filled
    with CellClient(runner.top_address, timeout=30) as top:
        seen = _all_pages(top, ListQuery(limit=limit, sort=sort))
    uuids = [i.uuid for i in seen]
    assert len(uuids) == len(set(uuids)) == len(booted)
    assert set(uuids) == set(booted)
    if sort == "name":
        keys: list[tuple[object, str]] = [(i.name, i.uuid) for i in seen]
    else:
        keys = [(i.created_at, i.uuid) for i in seen]
    assert keys == sorted(keys)


def test_filters_apply_across_cells(filled: tuple[TreeRunner, list[str]]) -> None:
    runner, _ = filled
    with CellClient(runner.top_address, timeout=30) as top:
        even = _all_pages(top, ListQuery(limit=50, project="even"))
        assert len(even) == PER_LEAF * 3 // 2
        assert {i.project for i in even} == {"even"}
        named = _all_pages(top, ListQuery(name_prefix="vm-001"))
        assert len(named) == 6 and {i.name for i in named} == {"vm-001"}
        assert _all_pages(top, ListQuery(state=InstanceState.PAUSED)) == []


def test_a_silent_leaf_gives_unknown_entries_and_its_path(tmp_path: Path) -> None:
    runner = start_tree(tmp_path, LIST_TREE)
    try:
        with CellClient(runner.top_address, timeout=PATIENCE) as top:
            for n in range(30):
                top.boot(boot_spec(f"s-{n:02}", 1, 64, target_cell=LEAVES[n % 3]))
            silent = runner.procs["z2"]
            silent.send_signal(signal.SIGSTOP)  # alive but silent: the worst case
            try:
                started = time.monotonic()
                page = top.list(ListQuery(limit=1000))
                took = time.monotonic() - started
            finally:
                silent.send_signal(signal.SIGCONT)
    finally:
        runner.stop()
    # Bounded by the 1 s list timeout, not by the call's: far under its deadline.
    assert took < PATIENCE / 2
    assert page.unreachable_cells == ("top!r1!z2",)
    assert len(page.instances) == 30
    unknown = [i for i in page.instances if i.state is InstanceState.UNKNOWN]
    assert len(unknown) == 10
    assert {i.cell_path for i in unknown} == {"top!r1!z2"}
    assert all(i.name.startswith("s-") for i in unknown)
