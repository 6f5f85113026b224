"""Tests for children that run as several replicas (routing.children)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from cells.backend import Identity
from model.cells import CellCapacity, CellKind, ChildReport, Registration
from routing import children as children_module
from routing.children import Children
from routing.index import LocationIndex


def children_of(tmp_path: Path, down_after: float = 60) -> tuple[Children, LocationIndex]:
    index = LocationIndex.open(f"sqlite:///{tmp_path / 'cell.db'}")
    identity = Identity("top", "127.0.0.1:7000", "top", CellKind.ROUTER)
    return Children(index.engine, identity, down_after=down_after), index


def test_each_replica_that_registers_joins_the_childs_address(tmp_path: Path) -> None:
    children, index = children_of(tmp_path)

    async def run() -> None:
        await children.register(Registration("r1", "127.0.0.1:7002", CellKind.ROUTER))
        await children.register(Registration("r1", "127.0.0.1:7001", CellKind.ROUTER))
        child = children.get("r1")
        assert child is not None and child.address == "127.0.0.1:7001,127.0.0.1:7002"
        children.report(ChildReport("r1", CellCapacity(), address="127.0.0.1:7003"))
        assert child.address == "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"
        await children.close()

    try:
        asyncio.run(run())
        again = Children(index.engine, Identity("top", "x:1", "top", CellKind.ROUTER),
                         down_after=60)
        restored = again.get("r1")  # as saved, for a restarted parent
        assert restored is not None and restored.address.count(",") == 2
    finally:
        index.close()


def test_a_replica_silent_for_long_leaves_at_the_next_registration(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(children_module, "FORGET_AFTER", 0.05)
    children, index = children_of(tmp_path, down_after=0.05)

    async def run() -> None:
        await children.register(Registration("r1", "127.0.0.1:7001", CellKind.ROUTER))
        time.sleep(0.1)  # 7001 has gone quiet (a replica that died, or moved)
        await children.register(Registration("r1", "127.0.0.1:7002", CellKind.ROUTER))
        child = children.get("r1")
        assert child is not None and child.address == "127.0.0.1:7002"
        await children.close()

    try:
        asyncio.run(run())
    finally:
        index.close()


def test_a_standby_is_listed_but_never_linked_until_it_takes_over(tmp_path: Path) -> None:
    children, index = children_of(tmp_path)

    async def run() -> None:
        await children.register(Registration("z1", "127.0.0.1:7001", CellKind.LEAF))
        child = children.get("z1")
        assert child is not None
        assert children.replicas_of(child) == ()  # one process: nothing to tell
        seen = child.last_seen
        time.sleep(0.01)
        children.report(ChildReport("z1", CellCapacity(), address="127.0.0.1:7002",
                                    standby=True))
        assert child.address == "127.0.0.1:7001"  # calls never go to a standby
        assert child.last_seen == seen  # nor does it keep the cell up
        listed = children.replicas_of(child)
        assert [(r.address, r.standby) for r in listed] == [
            ("127.0.0.1:7001", False), ("127.0.0.1:7002", True)]
        # It takes over: it registers, and joins the link as a replica.
        await children.register(Registration("z1", "127.0.0.1:7002", CellKind.LEAF))
        child = children.get("z1")
        assert child is not None
        assert child.address == "127.0.0.1:7001,127.0.0.1:7002"
        assert not any(r.standby for r in children.replicas_of(child))
        # The old active process restarts as a standby on its old address: it
        # leaves the link, since a standby does not serve.
        children.report(ChildReport("z1", CellCapacity(), address="127.0.0.1:7001",
                                    standby=True))
        assert child.address == "127.0.0.1:7002"
        await children.close()

    try:
        asyncio.run(run())
    finally:
        index.close()
