"""The dashboard's JSON and the checks on what a page asks (api.dashboard)."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import MultiDict

from api.dashboard import views
from api.dashboard.routes import instance_query, open_path, plan_spec
from api.errors import BadRequest
from model.cells import CellCapacity, CellKind, CellNode, HostSummary, Replica
from model.compute import Action, InstanceState, Resources

SMALL = Resources(1, 2048, 10)


def leaf(name: str, up: bool = True, unreachable: bool = False,
         capabilities: tuple[str, ...] = tuple(a.value for a in Action)) -> CellNode:
    capacity = CellCapacity(total=Resources(8, 16384, 100), used=Resources(2, 4096, 20),
                            hosts=1, hosts_up=1, instances=2,
                            flavor_fits=(("small", 6),), states=(("ACTIVE", 1), ("PAUSED", 1)))
    return CellNode(name, f"top!{name}", CellKind.LEAF, "10.0.0.1:1", up, capacity,
                    capabilities, hosts=(HostSummary("h1", capacity),), unreachable=unreachable,
                    driver="libvirt")


def test_a_cell_is_sent_with_its_health_figures_and_subtree() -> None:
    no_pause = tuple(a.value for a in Action if a is not Action.PAUSE)
    top = CellNode("top", "top", CellKind.ROUTER, "10.0.0.1:0", True, CellCapacity(),
                   children=(leaf("z1"), leaf("z2", up=False), leaf("z3", unreachable=True,
                                                                   capabilities=no_pause)),
                   replicas=(Replica("10.0.0.1:0", 0.2), Replica("10.0.0.2:0", 0.1, True),
                             Replica("10.0.0.3:0", 12.7)))
    sent = views.cell(top)
    assert sent["cells"] == 3
    assert [c["health"] for c in sent["children"]] == ["up", "down", "unreachable"]
    z1 = sent["children"][0]
    assert z1["capacity"] == {"vcpus": [2, 8], "ram_mb": [4096, 16384], "disk_gb": [20, 100],
                              "hosts": [1, 1], "instances": 2,
                              "states": {"ACTIVE": 1, "PAUSED": 1}, "fits": {"small": 6},
                              "agents": {}}
    assert z1["cannot"] == []
    assert z1["driver"] == "libvirt" and sent["driver"] == ""  # a router has none
    assert sent["children"][2]["cannot"] == ["pause"]
    assert z1["hosts"][0]["name"] == "h1" and z1["hosts"][0]["up"] is True
    assert sent["processes"] == [
        {"address": "10.0.0.1:0", "standby": False, "silent_s": 0},
        {"address": "10.0.0.2:0", "standby": True, "silent_s": 0},
        {"address": "10.0.0.3:0", "standby": False, "silent_s": 12}]


def test_only_the_pages_own_files_are_open() -> None:
    assert open_path("/dashboard") and open_path("/dashboard/")
    assert open_path("/dashboard/static/dashboard.js")
    for path in ("/dashboard/api/tree", "/dashboard/static/", "/dashboard/static/x.js",
                 "/dashboard/static/../api/tree", "/dashboardx"):
        assert not open_path(path), path


def test_an_instance_query_carries_every_filter() -> None:
    query = instance_query(MultiDict(cell="top!z1", project="shop", state="paused",
                                     name="web", limit="10", page="abc="))
    assert (query.cell, query.project, query.state, query.name_prefix, query.limit,
            query.page_token) == ("top!z1", "shop", InstanceState.PAUSED, "web", 10, "abc=")
    assert instance_query(MultiDict()).limit == 50


@pytest.mark.parametrize(("params", "needle"), [
    ({"limit": "0"}, "limit must be"),
    ({"limit": "1001"}, "limit must be"),
    ({"limit": "\u0661\u0660"}, "limit must be"),  # Arabic-Indic digits: not ours
    ({"state": "running"}, "is none of"),
    ({"project": "a b"}, "not a project name"),
    ({"name": "x" * 256}, "limit is 255"),
    ({"page": "<script>"}, "page token"),
    ({"color": "red"}, "Unknown filter"),
], ids=["limit-0", "limit-huge", "limit-digits", "state", "project", "name-long", "page",
        "unknown"])
def test_a_bad_instance_query_is_refused_with_the_reason(params: dict[str, str],
                                                         needle: str) -> None:
    with pytest.raises(BadRequest, match=needle):
        instance_query(MultiDict(params))


def test_a_filter_given_twice_is_refused() -> None:
    with pytest.raises(BadRequest, match="given 2 times"):
        instance_query(MultiDict([("state", "ACTIVE"), ("state", "PAUSED")]))


def test_a_dry_run_by_flavor_name_or_size() -> None:
    spec = plan_spec({"flavor": "small", "hints": {"availability_zone": "z1"},
                      "project": "shop"}, {"small": SMALL}, "dry-1")
    assert (spec.flavor, spec.hints, spec.project) == (
        SMALL, (("availability_zone", "z1"),), "shop")
    sized = plan_spec({"flavor": {"vcpus": 2, "ram_mb": 512}}, {}, "dry-2")
    assert sized.flavor == Resources(2, 512, 0)


@pytest.mark.parametrize(("body", "needle"), [
    ({"flavor": "huge"}, "No flavor named 'huge'"),
    ({"flavor": {"vcpus": 0}}, "vcpus at least 1"),
    ({"flavor": {"vcpus": 1.5}}, "whole numbers"),
    ({"flavor": {"vcpus": True}}, "whole numbers"),
    ({"flavor": {"cpus": 1}}, "whole numbers"),
    ({"flavor": "small", "hints": ["x"]}, "hints must be an object"),
    ({"flavor": "small", "hints": {"k": 5}}, "must be a string"),
    ({"flavor": "small", "hints": {str(n): "v" for n in range(33)}}, "At most 32"),
    ({"flavor": "small", "project": "a/b"}, "project must be"),
    ({"flavor": "small", "count": 3}, "Unknown field"),
], ids=["unknown-flavor", "zero-vcpus", "float", "bool", "bad-key", "hints-list", "hint-int",
        "many-hints", "project", "unknown-field"])
def test_a_bad_dry_run_is_refused_with_the_reason(body: dict[str, Any], needle: str) -> None:
    with pytest.raises(BadRequest, match=needle):
        plan_spec(body, {"small": SMALL}, "dry")
