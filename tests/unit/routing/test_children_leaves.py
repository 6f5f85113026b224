"""Tests for what a parent knows of the leaves below its children (routing.children)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cells.backend import Identity
from model.cells import CellCapacity, CellKind, ChildReport, LeafInfo, Registration
from model.compute import Action
from routing.children import Children
from routing.index import LocationIndex

NO_PAUSE = LeafInfo("", "127.0.0.1:7001", ("delete", "start", "stop", "suspend"),
                    (("pause", "oVirt has no pause"),))


def children_of(tmp_path: Path, path: str) -> tuple[Children, LocationIndex]:
    index = LocationIndex.open(f"sqlite:///{tmp_path / 'cell.db'}")
    identity = Identity(path.rsplit("!", 1)[-1], "127.0.0.1:7000", path, CellKind.ROUTER)
    return Children(index.engine, identity, down_after=60), index


def test_leaves_are_known_by_full_path_whatever_path_the_leaf_believes(tmp_path: Path) -> None:
    children, index = children_of(tmp_path, "top!r1")
    try:
        asyncio.run(children.register(Registration("z2", "127.0.0.1:7001", CellKind.LEAF)))
        # z2 reports itself relative ("") even before it learnt its full path.
        children.report(ChildReport("z2", CellCapacity(), leaves=(NO_PAUSE,)))
        found = children.leaf("top!r1!z2")
        assert found is not None and found.path == "top!r1!z2"
        assert found.address == "127.0.0.1:7001" and not found.supports(Action.PAUSE)
        assert found.supports(Action.SUSPEND)
        assert children.leaf("top!r1!z3") is None and children.leaf("top!r2!z2") is None
        # What this cell reports up is relative to itself.
        assert [leaf.path for leaf in children.leaves()] == ["z2"]
    finally:
        index.close()


def test_a_router_below_passes_its_leaves_on_relative(tmp_path: Path) -> None:
    children, index = children_of(tmp_path, "top")
    try:
        asyncio.run(children.register(Registration("r1", "127.0.0.1:7002", CellKind.ROUTER)))
        children.report(ChildReport("r1", CellCapacity(),
                                    leaves=(LeafInfo("z2", NO_PAUSE.address, NO_PAUSE.actions,
                                                     NO_PAUSE.refusals),)))
        found = children.leaf("top!r1!z2")
        assert found is not None
        assert found.refuse(Action.PAUSE).message == (
            "cell top!r1!z2 cannot pause instances: oVirt has no pause")
    finally:
        index.close()
