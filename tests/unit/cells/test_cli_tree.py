"""How `cellrouter tree` writes a cell's processes and a leaf's driver."""

from __future__ import annotations

from cellops.cli_common import jsonable as _jsonable
from cellops.cli_tree import _tree_rows, _where, open_port_warnings, restarts_of
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


def test_the_tree_names_each_leafs_driver_and_none_for_a_router() -> None:
    top = CellNode("top", "top", CellKind.ROUTER, "10.0.0.1:0", True, CellCapacity(), children=(
        CellNode("kvm", "top!kvm", CellKind.LEAF, "10.0.0.1:1", True, CellCapacity(),
                 driver="libvirt"),
        CellNode("legacy", "top!legacy", CellKind.LEAF, "10.0.0.1:2", True, CellCapacity(),
                 driver="ovirt"),
        CellNode("lb", "top!lb", CellKind.LEAF, "10.0.0.1:3", True, CellCapacity(),
                 driver="agents"),
        CellNode("old", "top!old", CellKind.LEAF, "10.0.0.1:4", True, CellCapacity())))
    rows: list[list[str]] = [["CELL", "STATE", "KIND", "DRIVER"]]
    _tree_rows(top, "", rows)
    assert [(row[0].strip(), row[2], row[3]) for row in rows[1:]] == [
        ("top", "router", "-"), ("top!kvm", "leaf", "libvirt"), ("top!legacy", "leaf", "ovirt"),
        ("top!lb", "leaf", "agents"), ("top!old", "leaf", "?")]  # a leaf that has not said
    as_json = _jsonable(top)  # what `cellrouter tree --json` prints
    assert as_json["driver"] == "" and [c["driver"] for c in as_json["children"]] == [
        "libvirt", "ovirt", "agents", ""]


PROCESSES = [
    {"name": "cell top", "kind": "cell", "restarts": 0, "last_exit": ""},
    {"name": "cell top.r2", "kind": "cell", "restarts": 2, "last_exit": "killed by SIGKILL"},
    {"name": "cell top2", "kind": "cell", "restarts": 5, "last_exit": "status 1"},
    {"name": "api", "kind": "api", "restarts": 1, "last_exit": "status 1"},
]


def test_the_restarts_of_a_cell_count_each_of_its_processes_and_no_other_cell() -> None:
    assert restarts_of(PROCESSES, "top") == "2 (last: killed by SIGKILL)"
    assert restarts_of(PROCESSES, "top2") == "5 (last: status 1)"
    assert restarts_of(PROCESSES, "z9") == "-"  # not one of `up`'s
    assert restarts_of(PROCESSES[:1], "top") == "0"


def test_a_cell_with_an_open_client_port_is_warned_about_by_name() -> None:
    top = CellNode("top", "top", CellKind.ROUTER, "10.0.0.1:0", True, CellCapacity(),
                   open_client_port=True, children=(node(),))
    assert open_port_warnings(top) == [
        'warning: cell top serves its client port to anyone, without tokens'
        ' (client_auth = "none")']
    assert _jsonable(top)["open_client_port"] is True  # `tree --json`
    assert open_port_warnings(node()) == []
