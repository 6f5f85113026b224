"""Link names as Neutron's linuxbridge agent makes them, never past IFNAMSIZ."""

from __future__ import annotations

import pytest

from network.naming import MAX_NAME, bridge_name, shortened, vlan_interface_name


def test_a_bridge_is_brq_and_the_network_ids_head() -> None:
    assert bridge_name("6d3f1a2b-9c8e-4f00-a1b2-c3d4e5f60718") == "brq6d3f1a2b-9c"
    assert len(bridge_name("x" * 64)) == 14 <= MAX_NAME
    assert bridge_name("net1") == "brqnet1"


@pytest.mark.parametrize(("physical", "vlan", "name"), [
    ("eth1", 100, "eth1.100"),
    ("eth1", 4094, "eth1.4094"),
    ("enp0s31f6", 1, "enp0s31f6.1"),
    ("enp0s31f6", 4094, "enp0s31f6.4094"),  # 14: still whole
], ids=["short", "longest-vlan", "vlan-1", "just-fits"])
def test_a_vlan_interface_is_the_physical_one_dot_the_vlan(
        physical: str, vlan: int, name: str) -> None:
    assert vlan_interface_name(physical, vlan) == name


def test_a_long_physical_name_is_shortened_the_same_way_every_time() -> None:
    name = vlan_interface_name("enp0s31f6-uplink", 4094)
    assert len(name) == MAX_NAME
    assert name.startswith("enp0") and name.endswith(".4094")  # 4 + 6 hex + .4094
    assert name == vlan_interface_name("enp0s31f6-uplink", 4094)
    assert name != vlan_interface_name("enp0s31f6-uplinq", 4094)  # the hash tells them apart


def test_shortened_leaves_short_names_alone() -> None:
    assert shortened("eth1", 10) == "eth1"
    assert len(shortened("a" * 20, 10)) == 10
