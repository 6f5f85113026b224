"""A tree whose routers keep their index in PostgreSQL, through the same code."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from cellwire.client import CellClient, boot_spec
from model.cells import ListQuery
from model.compute import InstanceState
from routing.index import LocationIndex
from tests.integration.conftest import PATIENCE, TREE, start_tree


@pytest.mark.postgres
def test_routers_on_postgres_route_and_survive_a_restart(tmp_path: Path, pg_url: str) -> None:
    text = TREE.replace("[cells.top]", f'[cells.top]\ndatabase_url = "{pg_url}"')
    assert text != TREE
    runner = start_tree(tmp_path, text)
    try:
        with CellClient(runner.top_address, timeout=10) as top:
            booted = [top.boot(boot_spec(f"pg-{n}", 1, 128)) for n in range(6)]
            runner.kill_cell("top", signal.SIGTERM)
            runner.start_cell("top")
            runner.wait_registered(PATIENCE)
            for instance in booted:
                assert top.suspend(instance.uuid, wait=True).state is InstanceState.SUSPENDED
            assert len(top.list(ListQuery(name_prefix="pg-")).instances) == 6
    finally:
        runner.stop()
    index = LocationIndex.open(pg_url)
    try:
        assert index.count() == 6
        for instance in booted:
            row = index.lookup_uncached(instance.uuid)
            assert row is not None and row.cell_path == instance.cell_path
    finally:
        index.close()
