"""The compute resources made from what the tree knows (zones, hypervisors,
services, usage, the images proxy, extensions), through the `openstack` CLI,
openstacksdk and plain HTTP, against a tree with its API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from cellops.tree import TreeRunner
from tests.integration.openstack_tree import IMAGE_ID, Raw, cli_json, sdk, start_api_tree

HOSTS = {"h1", "h2", "h3", "h4"}
V2_53 = {"OpenStack-API-Version": "compute 2.53"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_api_tree(tmp_path_factory.mktemp("tree-resources"))
    cli_json(runner, "server", "create", "--flavor", "small", "--image", "debian-12",
             "--nic", "none", "--wait", "usage-web-1", user="alice")
    yield runner
    runner.stop()


def test_zones_are_the_leaves_for_members_too(tree: TreeRunner) -> None:
    zones = cli_json(tree, "availability", "zone", "list", "--compute", user="alice")
    assert {(z["Zone Name"], z["Zone Status"]) for z in zones} == {
        ("z1", "available"), ("z2", "available"), ("z3", "available")}
    assert Raw(tree, "alice").call("GET", "/v2.1/os-availability-zone/detail").status_code == 403
    detail = Raw(tree).call("GET", "/v2.1/os-availability-zone/detail").json()
    z1 = next(z for z in detail["availabilityZoneInfo"] if z["zoneName"] == "z1")
    assert set(z1["hosts"]) == {"h1", "h2"}


def test_hypervisors_are_the_hosts_with_their_servers(tree: TreeRunner) -> None:
    listed = cli_json(tree, "hypervisor", "list")
    assert {h["Hypervisor Hostname"] for h in listed} == HOSTS
    # (`openstack hypervisor show` asks os-aggregates too: the SDK shows by id.)
    conn = sdk(tree)
    h4 = next(h for h in conn.compute.hypervisors(details=True) if h.name == "h4")
    shown = conn.compute.get_hypervisor(h4.id)
    assert (shown.name, shown.state, shown.status) == ("h4", "up", "enabled")
    raw = Raw(tree)
    stats = raw.call("GET", "/v2.1/os-hypervisors/statistics").json()["hypervisor_statistics"]
    assert stats["count"] == 4 and stats["vcpus"] == 36 and stats["running_vms"] == 1
    with_servers = raw.call("GET", "/v2.1/os-hypervisors?with_servers=true",
                            headers=V2_53).json()["hypervisors"]
    assert [s["name"] for h in with_servers for s in h.get("servers", [])] == ["usage-web-1"]
    assert raw.call("GET", "/v2.1/os-hypervisors/h/search").status_code == 200
    assert raw.call("GET", "/v2.1/os-hypervisors/nothing/search").status_code == 404
    assert Raw(tree, "alice").call("GET", "/v2.1/os-hypervisors").status_code == 403


def test_services_are_listed_and_a_change_is_answered_honestly(tree: TreeRunner) -> None:
    services = cli_json(tree, "compute", "service", "list")
    assert {s["Host"] for s in services if s["Binary"] == "nova-compute"} == HOSTS
    assert {s["Host"] for s in services if s["Binary"] == "nova-scheduler"} == {"top", "r1",
                                                                                "r2"}
    raw = Raw(tree)
    listed = raw.call("GET", "/v2.1/os-services?binary=nova-compute&host=h1",
                      headers=V2_53).json()["services"]
    assert len(listed) == 1
    missing = raw.call("PUT", f"/v2.1/os-services/{uuid.uuid4()}", {"status": "disabled"},
                       headers=V2_53)
    assert missing.status_code == 404
    known = raw.call("PUT", f"/v2.1/os-services/{listed[0]['id']}", {"status": "disabled"},
                     headers=V2_53)
    assert known.status_code == 501 and "notImplemented" in known.json()


def test_usage_counts_the_projects_servers(tree: TreeRunner) -> None:
    usage = cli_json(tree, "usage", "list")
    assert [u["Project"] for u in usage] == ["shop"]
    # The CLI asks detailed=True; Nova reads only detailed=1, so it counts no servers.
    detailed = Raw(tree).call(
        "GET", "/v2.1/os-simple-tenant-usage?detailed=1&start=2020-01-01T00:00:00").json()
    assert [len(u["server_usages"]) for u in detailed["tenant_usages"]] == [1]
    shown = Raw(tree, "alice").call(
        "GET", "/v2.1/os-simple-tenant-usage/shop?start=2020-01-01T00:00:00").json()
    assert shown["tenant_usage"]["server_usages"][0]["name"] == "usage-web-1"
    assert Raw(tree, "alice").call("GET", "/v2.1/os-simple-tenant-usage/lab").status_code == 403


def test_images_through_compute_and_the_extensions(tree: TreeRunner) -> None:
    conn = sdk(tree, "alice")
    assert [i.id for i in conn.compute.images()] == [IMAGE_ID]
    image = conn.compute.get_image(IMAGE_ID)
    assert (image.name, image.status, image.min_disk) == ("debian-12", "ACTIVE", 5)
    raw = Raw(tree, "alice")
    assert raw.call("GET", f"/v2.1/images/{uuid.uuid4()}").status_code == 404
    assert raw.call("GET", f"/v2.1/images/{IMAGE_ID}/metadata").json() == {"metadata": {}}
    assert raw.call("GET", "/v2.1/images", headers={
        "OpenStack-API-Version": "compute 2.36"}).status_code == 404
    assert raw.call("GET", "/v2.1/extensions/os-consoles").json()["extension"]["name"] == \
        "Consoles"
