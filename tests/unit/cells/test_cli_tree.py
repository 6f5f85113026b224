"""How `cellrouter tree` writes a cell's processes."""

from __future__ import annotations

from cells.ops.cli import _where
from model.cells import CellCapacity, CellKind, CellNode, Replica


def node(*replicas: Replica) -> CellNode:
    return CellNode("z1", "top!z1", CellKind.LEAF, "10.0.0.1:1", True, CellCapacity(),
                    replicas=replicas)


def test_one_process_is_its_address() -> None:
    assert _where(node()) == "10.0.0.1:1"


def test_replicas_are_listed_with_the_silent_ones_marked() -> None:
    assert _where(node(Replica("10.0.0.1:1", 0.2), Replica("10.0.0.2:1", 12.4))) == (
        "10.0.0.1:1 10.0.0.2:1(silent 12s)")


def test_a_leaf_with_a_standby_says_which_process_is_active() -> None:
    where = _where(node(Replica("10.0.0.1:1", 0.2), Replica("10.0.0.2:1", 0.1, standby=True)))
    assert where == "10.0.0.1:1(active) 10.0.0.2:1(standby)"


def test_a_silent_process_is_not_called_active() -> None:
    where = _where(node(Replica("10.0.0.1:1", 30.0), Replica("10.0.0.2:1", 0.3),
                        Replica("10.0.0.3:1", 0.1, standby=True)))
    assert where == "10.0.0.1:1(silent 30s) 10.0.0.2:1(active) 10.0.0.3:1(standby)"
