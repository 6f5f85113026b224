"""examples/replicated-tree.toml, started as `cellrouter up` starts it, on the
PostgreSQL named by CELLROUTER_TEST_PG_URL: the runner makes each replicated
cell's schema, every process comes up (eu-a's second one standing by), and an
instance boots through the top."""

from __future__ import annotations

import os
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cellops.postgres import ENV
from cellops.tree import TreeRunner
from cellops.tree_spec import TreeSpec, load_tree
from cellwire.channels import split_addresses
from cellwire.client import boot_spec
from model.cells import CellNode
from tests.conftest import unavailable
from tests.integration.conftest import eventually

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "replicated-tree.toml"


@pytest.fixture
def example() -> Iterator[TreeSpec]:
    """The example's tree on the test server. Its schemas get a name of their
    own (the tree's name is the only change), so that a tree a user runs from
    the example on the same server is neither met nor dropped; they are
    dropped afterwards."""
    base = os.environ.get("CELLROUTER_TEST_PG_URL", "")
    if not base:
        unavailable("CELLROUTER_TEST_PG_URL is not set; PostgreSQL tests need a server")
    spec = replace(load_tree(EXAMPLE, {ENV: base}), name=f"t_{uuidlib.uuid4().hex[:10]}")
    admin = create_engine(base, connect_args={"connect_timeout": 5})
    try:
        yield spec
    finally:
        with admin.begin() as conn:
            for schema in spec.schemas().values():
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def made(spec: TreeSpec) -> set[str]:
    admin = create_engine(spec.postgres)
    try:
        with admin.connect() as conn:
            rows = conn.execute(text("SELECT schema_name FROM information_schema.schemata"))
            return {row[0] for row in rows} & set(spec.schemas().values())
    finally:
        admin.dispose()


def processes(top: CellNode, name: str) -> list[bool]:
    """The processes of cell `name` as its parent hears them: standing by?"""
    cell = next(c for c in top.walk() if c.name == name)
    return sorted(r.standby for r in cell.replicas)


@pytest.mark.postgres
def test_the_replicated_example_starts_and_boots_through_the_top(
        example: TreeSpec, tmp_path: Path) -> None:
    assert set(example.schemas()) == {"top", "eu", "eu-a"}
    runner = TreeRunner(example, tmp_path / "state")
    try:
        runner.start(timeout=90)
        assert made(example) == set(example.schemas().values())
        assert len(split_addresses(runner.top_address)) == 2  # clients call either replica
        with runner.client(timeout=20) as top:
            booted = top.boot(boot_spec("web-1", 1, 1024, request_id="replicated-web-1"))
            assert booted.cell_path in ("top!eu!eu-a", "top!eu!eu-b") and booted.host
            assert top.get(booted.uuid).uuid == booted.uuid
            assert eventually(lambda: processes(top.topology(), "eu") == [False, False]
                              and processes(top.topology(), "eu-a") == [False, True],
                              timeout=20)
    finally:
        runner.stop()
