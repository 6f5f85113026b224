"""Tests for api.compute.aggregates, hosts and quota_classes: through the app,
against a fake top whose topology is tree_shapes.a_tree(), every body checked
against Tempest's schema for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model.cells import CellNode
from tests.unit.api.apiapp import ApiClient, FakeTopClient, api_client, check
from tests.unit.api.tree_shapes import a_tree


class TreeTopClient(FakeTopClient):
    """The fake top, answering Topology with a_tree() (hosts hv-1 and hv-2)."""

    async def topology(self, metadata: Any = ()) -> CellNode:
        del metadata
        return a_tree()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    with api_client(tmp_path) as (client, top):
        top.client = TreeTopClient()
        yield client


def _aggregate(api: ApiClient, name: str = "fast", version: str = "2.1") -> dict[str, Any]:
    status, body = api.call("root", "POST", "/os-aggregates",
                            {"aggregate": {"name": name, "availability_zone": "az1"}}, version)
    module = "v2_41.aggregates" if version >= "2.41" else "v2_1.aggregates"
    check(module, "create_aggregate", status, body)
    return dict(body["aggregate"])


@pytest.mark.parametrize("version", ["2.1", "2.41"])
def test_an_aggregate_through_its_life_matches_tempests_schemas(api: ApiClient,
                                                                version: str) -> None:
    module = "v2_41.aggregates" if version == "2.41" else "v2_1.aggregates"
    made = _aggregate(api, version=version)
    path = f"/os-aggregates/{made['id']}"
    status, body = api.call("root", "POST", f"{path}/action", {"add_host": {"host": "hv-1"}},
                            version)
    check(module, "aggregate_add_remove_host", status, body)
    assert body["aggregate"]["hosts"] == ["hv-1"]
    status, body = api.call("root", "POST", f"{path}/action",
                            {"set_metadata": {"metadata": {"ssd": "true"}}}, version)
    check(module, "aggregate_set_metadata", status, body)
    assert body["aggregate"]["metadata"] == {"availability_zone": "az1", "ssd": "true"}
    status, body = api.call("root", "PUT", path, {"aggregate": {"name": "faster"}}, version)
    check(module, "update_aggregate", status, body)
    status, body = api.call("root", "GET", "/os-aggregates", version=version)
    check(module, "list_aggregates", status, body)
    assert [a["name"] for a in body["aggregates"]] == ["faster"]
    assert api.call("root", "DELETE", path, version=version)[0] == 400  # it has a host
    api.call("root", "POST", f"{path}/action", {"remove_host": {"host": "hv-1"}}, version)
    status, body = api.call("root", "DELETE", path, version=version)
    check(module, "delete_aggregate", status, body)
    assert api.call("root", "GET", path, version=version)[0] == 404


@pytest.mark.parametrize(("method", "path", "body", "expected"), [
    ("POST", "/os-aggregates", {"aggregate": {"name": ""}}, 400),
    ("POST", "/os-aggregates", {"aggregate": {"name": "a" * 256}}, 400),
    ("POST", "/os-aggregates", {"aggregate": {"name": "fast"}}, 409),
    ("GET", "/os-aggregates/-1", None, 404),
    ("GET", "/os-aggregates/abc", None, 400),
    ("DELETE", "/os-aggregates/-1", None, 404),
    ("POST", "/os-aggregates/ID/action", {"add_host": {"host": "nowhere"}}, 404),
    ("POST", "/os-aggregates/ID/action", {"remove_host": {"host": "hv-2"}}, 404),
    ("POST", "/os-aggregates/ID/action", {"explode": {}}, 400),
], ids=["empty-name", "long-name", "name-taken", "no-such-id", "id-not-a-number",
        "delete-no-such-id", "host-not-in-tree", "host-not-in-aggregate", "unknown-action"])
def test_aggregate_errors_are_novas(api: ApiClient, method: str, path: str, body: Any,
                                    expected: int) -> None:
    made = _aggregate(api)
    assert api.call("root", method, path.replace("ID", str(made["id"])), body)[0] == expected


def test_a_host_added_twice_is_a_conflict_and_members_may_not_touch_aggregates(
        api: ApiClient) -> None:
    made = _aggregate(api)
    action = f"/os-aggregates/{made['id']}/action"
    assert api.call("root", "POST", action, {"add_host": {"host": "hv-2"}})[0] == 200
    assert api.call("root", "POST", action, {"add_host": {"host": "hv-2"}})[0] == 409
    assert api.call("alice", "POST", action, {"remove_host": {"host": "hv-2"}})[0] == 403
    assert api.call("alice", "GET", "/os-aggregates")[0] == 403


def test_hosts_list_every_service_and_filter_by_zone(api: ApiClient) -> None:
    status, body = api.call("root", "GET", "/os-hosts")
    check("v2_1.hosts", "list_hosts", status, body)
    assert {(h["host_name"], h["service"], h["zone"]) for h in body["hosts"]} == {
        ("top", "scheduler", "internal"), ("eu", "scheduler", "internal"),
        ("hv-1", "compute", "eu-a"), ("hv-2", "compute", "eu-a")}
    assert len(api.call("root", "GET", "/os-hosts?zone=eu-a")[1]["hosts"]) == 2
    assert api.call("root", "GET", "/os-hosts?zone=xxx")[1]["hosts"] == []


def test_a_hosts_resources_are_its_totals_and_its_instances(api: ApiClient) -> None:
    status, body = api.call("root", "GET", "/os-hosts/hv-1")
    check("v2_1.hosts", "get_host_detail", status, body)
    total = body["host"][0]["resource"]
    assert (total["project"], total["host"], total["cpu"]) == ("(total)", "hv-1", 16)
    assert api.call("root", "GET", "/os-hosts/top")[0] == 404  # a scheduler: no resources


@pytest.mark.parametrize(("user", "method", "path", "body", "expected"), [
    ("root", "PUT", "/os-hosts/hv-1", {"status": "enable"}, 501),
    ("root", "PUT", "/os-hosts/hv-1", {"status": "invalid", "maintenance_mode": "enable"}, 400),
    ("root", "PUT", "/os-hosts/hv-1", {}, 400),
    ("root", "PUT", "/os-hosts/nowhere", {"status": "enable"}, 404),
    ("alice", "PUT", "/os-hosts/hv-1", {"status": "enable"}, 403),
    ("root", "GET", "/os-hosts/hv-1/reboot", None, 501),
    ("root", "GET", "/os-hosts/nowhere/startup", None, 404),
    ("alice", "GET", "/os-hosts/hv-1/shutdown", None, 403),
    ("alice", "GET", "/os-hosts", None, 403),
], ids=["update-501", "bad-status", "no-field", "update-unknown", "update-member",
        "reboot-501", "startup-unknown", "shutdown-member", "list-member"])
def test_host_changes_are_answered_as_nova_does_without_a_driver_for_them(
        api: ApiClient, user: str, method: str, path: str, body: Any, expected: int) -> None:
    assert api.call(user, method, path, body)[0] == expected


def test_os_hosts_is_gone_from_2_43(api: ApiClient) -> None:
    assert api.call("root", "GET", "/os-hosts", version="2.43")[0] == 404
    assert api.call("root", "GET", "/os-hosts/hv-1/reboot", version="2.43")[0] == 404


@pytest.mark.parametrize(("version", "module"), [
    ("2.1", "v2_1.quota_classes"), ("2.50", "v2_50.quota_classes"),
    ("2.57", "v2_57.quota_classes")])
def test_the_default_class_is_every_projects_defaults(api: ApiClient, version: str,
                                                      module: str) -> None:
    status, body = api.call("root", "GET", "/os-quota-class-sets/default", version=version)
    check(module, "get_quota_class_set", status, body)
    values = {k: v + 100 for k, v in body["quota_class_set"].items() if k != "id"}
    status, body = api.call("root", "PUT", "/os-quota-class-sets/default",
                            {"quota_class_set": values}, version)
    check(module, "update_quota_class_set", status, body)
    assert body["quota_class_set"] == values
    defaults = api.call("root", "GET", "/os-quota-sets/lab/defaults", version=version)[1]
    assert defaults["quota_set"]["instances"] == values["instances"]
    assert api.call("bob", "GET", "/os-quota-sets/lab", version=version)[1][
        "quota_set"]["instances"] == values["instances"]


def test_quota_classes_are_for_admins_and_known_resources(api: ApiClient) -> None:
    assert api.call("alice", "GET", "/os-quota-class-sets/default")[0] == 403
    assert api.call("root", "PUT", "/os-quota-class-sets/default",
                    {"quota_class_set": {"server_groups": 1}})[0] == 400  # not before 2.50
    assert api.call("root", "PUT", "/os-quota-class-sets/default",
                    {"quota_class_set": {"cores": -2}})[0] == 400
