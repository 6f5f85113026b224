"""A port to wire as a service object of kind "network", and back."""

from __future__ import annotations

from dataclasses import replace

import pytest

from model.agents import PlaceSpec, ServiceObject
from network.agent.errors import MalformedPort
from network.agent.objects import KIND, PortWiring, port_object, wiring_of
from network.resources import FixedIp, Network, NetworkType, Port, PortStatus
from routing.validate import check_place

VLAN_NET = Network("6d3f1a2b-9c8e-4f00-a1b2-c3d4e5f60718", "n1", "p1", False, True,
                   NetworkType.VLAN, 100, "physnet1", "ACTIVE", 0.0, 0.0)
FLAT_NET = replace(VLAN_NET, id="0a1b2c3d-0000-4000-8000-000000000001",
                   type=NetworkType.FLAT, segmentation_id=None)
PORT = Port("f00dfeed-1111-4222-8333-444455556666", VLAN_NET.id, "", "p1",
            "FA:16:3E:00:00:01", (FixedIp("s1", "10.0.0.5"),), "vm-1", "compute:nova", "h1",
            PortStatus.DOWN, True, 0.0, 0.0)


def placed(spec: PlaceSpec) -> ServiceObject:
    return ServiceObject("obj-1", spec, "net-h1")


def test_a_vlan_port_goes_and_comes_back() -> None:
    spec = port_object(PORT, VLAN_NET, "h1", "req-1")
    check_place(spec)  # a placement the cells take
    assert (spec.kind, spec.needs, spec.project, spec.request_id) == (KIND, (), "p1", "req-1")
    assert dict(spec.hints)["host"] == "h1"  # only h1's agent takes it
    wiring = wiring_of(placed(spec))
    assert wiring == PortWiring(PORT.id, VLAN_NET.id, "fa:16:3e:00:00:01", NetworkType.VLAN,
                                100, "physnet1", "h1")
    assert isinstance(wiring, PortWiring) and wiring.bridge == "brq6d3f1a2b-9c"


def test_a_flat_port_has_no_segment() -> None:
    spec = port_object(replace(PORT, network_id=FLAT_NET.id), FLAT_NET, "h2", "req-2")
    check_place(spec)
    assert dict(spec.hints)["segmentation_id"] == ""
    wiring = wiring_of(placed(spec))
    assert isinstance(wiring, PortWiring)
    assert (wiring.network_type, wiring.segmentation_id, wiring.host) == (
        NetworkType.FLAT, None, "h2")


GOOD = dict(port_object(PORT, VLAN_NET, "h1", "req-1").hints)


@pytest.mark.parametrize(("changes", "says"), [
    ({"port_id": None}, "hints missing: port_id"),
    ({"mac": "nonsense"}, "bad mac"),
    ({"network_id": "../etc"}, "bad network_id"),
    ({"network_type": "vxlan"}, "network_type must be flat or vlan"),
    ({"segmentation_id": "4095"}, "segmentation_id is 1 to 4094"),
    ({"segmentation_id": ""}, "segmentation_id is 1 to 4094"),
    ({"network_type": "flat"}, "a flat network has no segmentation_id"),
    ({"physical_network": ""}, "physical_network and host must be given"),
], ids=["missing", "mac", "network-id", "type", "vlan-range", "vlan-none", "flat-vlan",
        "no-physnet"])
def test_malformed_hints_are_a_value_saying_what(changes: dict[str, str | None],
                                                  says: str) -> None:
    hints = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    spec = PlaceSpec("req-1", "port", KIND, (), tuple(sorted(hints.items())))
    found = wiring_of(placed(spec))
    assert isinstance(found, MalformedPort)
    assert says in found.reason


def test_an_object_of_another_kind_is_no_port() -> None:
    spec = PlaceSpec("req-1", "lb", "loadbalancer", (), tuple(sorted(GOOD.items())))
    found = wiring_of(placed(spec))
    assert isinstance(found, MalformedPort) and "not 'network'" in found.reason
