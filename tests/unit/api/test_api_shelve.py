"""Shelve, shelveOffload and unshelve (api.compute.shelve): the bodies Nova
takes per microversion, who may name a host, a host or zone of another leaf
refused, and a shelved server's body, checked against Tempest's schemas."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from model.cells import CellNode
from model.compute import InstanceState
from tests.unit.api.apiapp import ApiClient, check
from tests.unit.api.tree_shapes import host, leaf, router
from tests.unit.api.tree_top import TreeTopClient, tree_api

LATEST = "2.100"


def two_leaves() -> CellNode:
    """top > z1 (h1, h2) and top > z2 (h3)."""
    return router("top", leaf("top!z1", host("h1"), host("h2")), leaf("top!z2", host("h3")))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[ApiClient, TreeTopClient]]:
    with tree_api(tmp_path, two_leaves()) as made:
        yield made


def server(client: ApiClient, top: TreeTopClient) -> str:
    status, body = client.call("alice", "POST", "/servers", {"server": {
        "name": "web", "flavorRef": "small", "networks": "none"}}, version="2.37")
    assert status == 202, body
    uuid = str(body["server"]["id"])
    top.instances[uuid] = replace(top.instances[uuid], cell_path="top!z1")  # a leaf of the tree
    return uuid


def act(client: ApiClient, uuid: str, body: Any, user: str = "alice",
        version: str = "2.1") -> tuple[int, Any]:
    return client.call(user, "POST", f"/servers/{uuid}/action", body, version=version)


def shown(client: ApiClient, uuid: str) -> dict[str, Any]:
    status, body = client.call("root", "GET", f"/servers/{uuid}", version=LATEST)
    check("v2_100.servers", "get_server", status, body)
    return dict(body["server"])


def offloaded(client: ApiClient, top: TreeTopClient) -> str:
    uuid = server(client, top)
    assert act(client, uuid, {"shelve": None})[0] == 202
    assert act(client, uuid, {"shelveOffload": None})[0] == 202
    return uuid


def test_shelve_then_offload_show_nova_states_and_no_host(api: Any) -> None:
    client, top = api
    uuid = server(client, top)
    status, body = act(client, uuid, {"shelve": {}})  # Tempest's client sends {}
    check("v2_1.servers", "server_actions_common_schema", status, body)
    got = shown(client, uuid)
    assert (got["status"], got["OS-EXT-STS:vm_state"], got["OS-EXT-STS:power_state"],
            got["OS-EXT-SRV-ATTR:host"]) == ("SHELVED", "shelved", 4, "h1")
    status, body = act(client, uuid, {"shelveOffload": None})
    check("v2_1.servers", "server_actions_common_schema", status, body)
    got = shown(client, uuid)
    assert (got["status"], got["OS-EXT-STS:vm_state"], got["OS-EXT-STS:power_state"],
            got["OS-EXT-SRV-ATTR:host"], got["hostId"]) == (
        "SHELVED_OFFLOADED", "shelved_offloaded", 4, None, "")
    status, body = client.call("alice", "GET", "/servers/detail?status=SHELVED_OFFLOADED")
    assert status == 200 and [s["id"] for s in body["servers"]] == [uuid]


def test_unshelve_onto_a_host_of_the_servers_leaf(api: Any) -> None:
    client, top = api
    uuid = offloaded(client, top)
    status, body = act(client, uuid, {"unshelve": {"host": "h2"}}, "root", "2.91")
    check("v2_1.servers", "server_actions_common_schema", status, body)
    assert top.hosts_asked[-1] == "h2"
    got = shown(client, uuid)
    assert (got["status"], got["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "h2")


def test_unshelve_without_a_host_lets_the_leaf_choose(api: Any) -> None:
    client, top = api
    uuid = offloaded(client, top)
    assert act(client, uuid, {"unshelve": None})[0] == 202
    assert top.hosts_asked[-1] == ""
    assert shown(client, uuid)["status"] == "ACTIVE"


@pytest.mark.parametrize(("body", "user", "version", "code"), [
    ({"host": "h3"}, "root", "2.91", 409),  # a host of another leaf: a migration
    ({"host": "nope"}, "root", "2.91", 400),  # no leaf has it
    ({"host": "h2"}, "alice", "2.91", 403),  # only admins name a host
    ({"host": "h2"}, "root", "2.90", 400),  # not before 2.91
    ({"host": ""}, "root", "2.91", 400),
    ({"availability_zone": "z2"}, "alice", "2.77", 400),  # not the server's zone
    ({"availability_zone": "z1"}, "root", "2.76", 400),  # not before 2.77
    ({"availability_zone": None}, "root", "2.77", 400),  # null from 2.91
    ({"other": 1}, "root", "2.91", 400),
], ids=["other-leaf", "unknown-host", "member-host", "host-too-early", "empty-host",
        "other-zone", "zone-too-early", "null-zone-too-early", "unknown-key"])
def test_unshelve_refusals_change_nothing(api: Any, body: Any, user: str, version: str,
                                          code: int) -> None:
    client, top = api
    uuid = offloaded(client, top)
    assert act(client, uuid, {"unshelve": body}, user, version)[0] == code
    assert top.instances[uuid].state is InstanceState.SHELVED_OFFLOADED


@pytest.mark.parametrize("body", [{"availability_zone": "z1"},
                                  {"availability_zone": None, "host": "h1"}],
                         ids=["own-zone", "null-zone-and-host"])
def test_unshelve_into_the_servers_own_zone(api: Any, body: Any) -> None:
    client, top = api
    uuid = offloaded(client, top)
    assert act(client, uuid, {"unshelve": body}, "root", "2.91")[0] == 202
    assert shown(client, uuid)["status"] == "ACTIVE"


def test_a_zone_or_host_is_only_for_an_offloaded_server(api: Any) -> None:
    client, top = api
    uuid = server(client, top)
    assert act(client, uuid, {"shelve": None})[0] == 202
    assert act(client, uuid, {"unshelve": {"host": "h1"}}, "root", "2.91")[0] == 409
    assert act(client, uuid, {"unshelve": None})[0] == 202
    assert shown(client, uuid)["OS-EXT-SRV-ATTR:host"] == "h1"


def test_shelve_takes_no_arguments_and_a_missing_server_is_404(api: Any) -> None:
    client, top = api
    uuid = server(client, top)
    assert act(client, uuid, {"shelve": {"force": True}})[0] == 400
    nowhere = "00000000-0000-4000-8000-000000000000"
    for name in ("shelve", "shelveOffload", "unshelve"):
        assert act(client, nowhere, {name: None})[0] == 404


def test_a_locked_server_refuses_its_members_shelve(api: Any) -> None:
    client, top = api
    uuid = server(client, top)
    assert act(client, uuid, {"lock": None})[0] == 202
    assert act(client, uuid, {"shelve": None})[0] == 409
    assert act(client, uuid, {"shelve": None}, "root")[0] == 202
