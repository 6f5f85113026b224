"""Tests for api.compute.services: a tree's services, in Tempest's schemas."""

from __future__ import annotations

from types import ModuleType

import pytest
from tempest.lib.api_schema.response.compute.v2_1 import services as v2_1
from tempest.lib.api_schema.response.compute.v2_11 import services as v2_11
from tempest.lib.api_schema.response.compute.v2_53 import services as v2_53

from api.compute.fleet import services
from api.compute.services import service_body
from api.microversion import Version
from tests.unit.api.tree_shapes import a_tree, validate


@pytest.mark.parametrize(("at", "schema"), [
    (Version(2, 1), v2_1), (Version(2, 11), v2_11), (Version(2, 53), v2_53),
    (Version(2, 100), v2_53)], ids=str)
def test_the_list_matches_tempests_schema(at: Version, schema: ModuleType) -> None:
    body = {"services": [service_body(s, at) for s in services(a_tree())]}
    validate(schema.list_services, body)


def test_every_host_has_a_compute_service_and_every_router_a_scheduler() -> None:
    found = {(s.binary, s.host, s.zone, s.up) for s in services(a_tree())}
    assert found == {("nova-scheduler", "top", "internal", True),
                     ("nova-scheduler", "eu", "internal", True),
                     ("nova-compute", "hv-1", "eu-a", True),
                     ("nova-compute", "hv-2", "eu-a", False)}
