"""What the topology says of each cell survives the wire (cellwire.wire):
the driver that backs a leaf, in a Topology answer and in reports."""

from __future__ import annotations

import pytest

from cellrouter.v1 import cells_pb2 as pb
from cells.config import LeafConfig
from cellwire import wire
from model.cells import (
    AGENTS_ONLY,
    CellCapacity,
    CellKind,
    CellNode,
    ChildReport,
    HostSummary,
    LeafInfo,
    Replica,
)
from model.compute import Resources

CAPACITY = CellCapacity(total=Resources(8, 16384, 100), hosts=1, hosts_up=1, instances=2)


def leaf(name: str, driver: str) -> CellNode:
    return CellNode(name, f"top!{name}", CellKind.LEAF, f"10.0.0.1:{len(name)}", True,
                    CAPACITY, ("pause", "reboot"), hosts=(HostSummary("h1", CAPACITY),),
                    driver=driver)


def test_a_topology_names_each_leafs_driver_across_the_wire() -> None:
    top = CellNode("top", "top", CellKind.ROUTER, "10.0.0.1:0", True, CAPACITY,
                   children=(leaf("kvm", "libvirt"), leaf("legacy", "ovirt"),
                             leaf("lb", AGENTS_ONLY)),
                   replicas=(Replica("10.0.0.1:0", 0.5), Replica("10.0.0.2:0", 0.2)))
    sent = wire.node_to_pb(top).SerializeToString()
    back = wire.node_from_pb(pb.CellNode.FromString(sent))
    assert back == top
    assert [c.driver for c in back.children] == ["libvirt", "ovirt", "agents"]
    assert back.driver == ""  # a router has none


def test_a_report_carries_each_leafs_driver_up() -> None:
    report = ChildReport("eu", CAPACITY, leaves=(
        LeafInfo("", "10.0.0.1:1", ("pause",), (("suspend", "no"),), driver="fake"),
        LeafInfo("eu-a", "10.0.0.1:2", driver="libvirt")))
    sent = wire.report_to_pb(report).SerializeToString()
    back = wire.report_from_pb(pb.ReportRequest.FromString(sent))
    assert back == report


def test_a_leaf_that_does_not_say_is_read_with_no_driver() -> None:
    older = pb.CellNode(name="z", path="top!z", kind=pb.CELL_KIND_LEAF)  # sent before the field
    assert wire.node_from_pb(older).driver == ""


@pytest.mark.parametrize(("driver", "hosts", "shown"), [
    ("libvirt", ({"name": "h1"},), "libvirt"),
    ("libvirt", (), "libvirt"),
    ("ovirt", (), "ovirt"),
    ("fake", ({"name": "h1"},), "fake"),
    ("fake", (), "agents"),
], ids=["libvirt", "libvirt-no-hosts", "ovirt", "fake", "fake-no-hosts-is-agents"])
def test_a_leaf_is_shown_as_its_driver_or_agents_when_fake_and_hostless(
        driver: str, hosts: tuple[dict[str, str], ...], shown: str) -> None:
    assert LeafConfig(driver=driver, hosts=hosts).shown_as == shown
