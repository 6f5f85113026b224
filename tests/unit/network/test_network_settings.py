"""The [network] table, the type drivers it sets up, and MAC bases."""

from __future__ import annotations

from typing import Any

import pytest

from network.errors import InvalidInput
from network.macs import generate, normalise
from network.resources import NetworkType
from network.segments import FLAT_ID, FlatTypeDriver, Segment, VlanTypeDriver
from network.settings import NetworkSettings, settings_of


def test_an_empty_table_is_neutrons_defaults() -> None:
    assert settings_of({}) == NetworkSettings("fa:16:3e", NetworkType.VLAN, "physnet1", 1, 4094)


@pytest.mark.parametrize(("table", "says"), [
    ({"colour": "red"}, "unknown keys in \\[network\\]: colour"),
    ({"mac_base": "fb:16"}, "unicast"),
    ({"mac_base": "fa:16:3e:00:00:00:00"}, "1 to 6 octets"),
    ({"tenant_network_type": "vxlan"}, "vxlan"),
    ({"vlan_min": 10, "vlan_max": 5}, "within 1..4094"),
], ids=["unknown", "multicast", "too-long", "type", "vlans"])
def test_a_bad_table_says_what_is_wrong(table: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        settings_of(table)


def test_generated_macs_keep_the_base() -> None:
    assert generate("02:aa").startswith("02:aa:") and len(generate("02:aa")) == 17
    assert generate("02:00:00:00:00:01") == "02:00:00:00:00:01"
    assert normalise("FA-16-3E-00-00-01") == "fa:16:3e:00:00:01"
    with pytest.raises(InvalidInput):
        normalise("01:00:5e:00:00:01")  # multicast


@pytest.mark.parametrize(("driver", "physical", "asked", "segment"), [
    (FlatTypeDriver(), "p", None, Segment(NetworkType.FLAT, "p", FLAT_ID)),
    (VlanTypeDriver(), "p", 42, Segment(NetworkType.VLAN, "p", 42)),
], ids=["flat", "vlan"])
def test_provider_segments(driver: Any, physical: str, asked: int | None,
                           segment: Segment) -> None:
    assert driver.provider(physical, asked) == segment


@pytest.mark.parametrize(("driver", "asked", "says"), [
    (FlatTypeDriver(), 5, "segmentation_id specified for flat"),
    (VlanTypeDriver(), None, "segmentation_id required"),
    (VlanTypeDriver(), 4095, "out of range"),
], ids=["flat-with-id", "vlan-without", "vlan-too-high"])
def test_impossible_provider_segments(driver: Any, asked: int | None, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        driver.provider("p", asked)


def test_tenant_segments_are_the_lowest_free_or_none() -> None:
    vlans = VlanTypeDriver(10, 12)
    assert vlans.tenant("p", {10, 11}) == Segment(NetworkType.VLAN, "p", 12)
    assert vlans.tenant("p", {0, 10, 11, 12}) is None
    assert FlatTypeDriver().tenant("p", {3}) == Segment(NetworkType.FLAT, "p", FLAT_ID)
    assert FlatTypeDriver().tenant("p", {FLAT_ID}) is None
