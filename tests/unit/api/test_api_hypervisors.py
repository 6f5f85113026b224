"""Tests for api.compute.hypervisors: a tree's hosts as hypervisor bodies,
checked against Tempest's schema of each microversion range."""

from __future__ import annotations

import uuid
from types import ModuleType

import pytest
from tempest.lib.api_schema.response.compute.v2_1 import hypervisors as v2_1
from tempest.lib.api_schema.response.compute.v2_28 import hypervisors as v2_28
from tempest.lib.api_schema.response.compute.v2_33 import hypervisors as v2_33
from tempest.lib.api_schema.response.compute.v2_53 import hypervisors as v2_53

from api.compute.fleet import hosts
from api.compute.hypervisors import HypervisorView, statistics
from api.microversion import Version
from model.compute import Instance, InstanceState, Resources
from tests.unit.api.tree_shapes import a_tree, validate

SCHEMAS = [(Version(2, 1), v2_1), (Version(2, 28), v2_28), (Version(2, 33), v2_33),
           (Version(2, 53), v2_53), (Version(2, 87), v2_53)]
SERVER = Instance(str(uuid.uuid4()), "web-1", InstanceState.ACTIVE, Resources(1, 512, 1))


@pytest.mark.parametrize(("at", "schema"), SCHEMAS, ids=lambda v: str(v))
def test_lists_and_show_match_tempests_schema(at: Version, schema: ModuleType) -> None:
    view, found = HypervisorView(at), hosts(a_tree())
    validate(schema.list_search_hypervisors, {"hypervisors": [view.summary(h) for h in found]})
    validate(schema.list_hypervisors_detail, {"hypervisors": [view.detail(h) for h in found]})
    validate(schema.get_hypervisor, {"hypervisor": view.detail(found[0])})
    validate(schema.get_hypervisor_statistics, statistics(found))


def test_servers_on_a_host_match_the_schema_of_their_form() -> None:
    found = hosts(a_tree())[0]
    validate(v2_1.get_hypervisors_servers,
             {"hypervisors": [HypervisorView(Version(2, 1)).summary(found, [SERVER])]})
    validate(v2_53.get_hypervisor, {"hypervisor": HypervisorView(Version(2, 53)).detail(
        found, [SERVER])})


def test_ids_are_numbers_before_2_53_and_uuids_after_the_same_in_every_process() -> None:
    first, second = hosts(a_tree())
    old, new = HypervisorView(Version(2, 52)), HypervisorView(Version(2, 53))
    assert isinstance(old.ident(first), int) and old.ident(first) != old.ident(second)
    assert uuid.UUID(str(new.ident(first))) and new.ident(first) == new.ident(hosts(a_tree())[0])


def test_a_dead_host_is_down_and_its_figures_are_its_leafs_report() -> None:
    first, second = (HypervisorView(Version(2, 1)).detail(h) for h in hosts(a_tree()))
    assert (first["state"], second["state"]) == ("up", "down")
    assert (first["vcpus"], first["vcpus_used"], first["running_vms"]) == (16, 2, 1)
    assert statistics(hosts(a_tree()))["hypervisor_statistics"]["count"] == 2


def test_from_2_88_the_figures_are_gone_and_show_has_uptime() -> None:
    body = HypervisorView(Version(2, 88)).detail(hosts(a_tree())[0])
    assert "vcpus" not in body and "cpu_info" not in body and body["uptime"] is None
