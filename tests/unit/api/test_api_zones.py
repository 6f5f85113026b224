"""Tests for api.compute.zones: the zones of a tree, in Tempest's schemas."""

from __future__ import annotations

from tempest.lib.api_schema.response.compute.v2_1 import availability_zone as schema

from api.compute.zones import zone_detail, zone_list
from tests.unit.api.tree_shapes import a_tree, validate


def test_the_zones_are_the_leaves_that_run_instances_available_while_a_host_is_up() -> None:
    body = zone_list(a_tree())
    validate(schema.list_availability_zone_list, body)
    assert body["availabilityZoneInfo"] == [
        {"zoneName": "eu-a", "zoneState": {"available": True}, "hosts": None},
        {"zoneName": "eu-b", "zoneState": {"available": False}, "hosts": None}]


def test_the_detail_shows_each_hosts_compute_and_the_routers_in_the_internal_zone() -> None:
    body = zone_detail(a_tree())
    validate(schema.list_availability_zone_list_detail, body)
    zones = {z["zoneName"]: z for z in body["availabilityZoneInfo"]}
    assert set(zones) == {"eu-a", "eu-b", "internal"}
    assert zones["eu-a"]["hosts"]["hv-1"]["nova-compute"]["available"] is True
    assert zones["eu-a"]["hosts"]["hv-2"]["nova-compute"]["available"] is False
    assert zones["eu-b"]["hosts"] is None
    assert set(zones["internal"]["hosts"]) == {"top", "eu"}
