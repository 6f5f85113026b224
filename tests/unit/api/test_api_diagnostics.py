"""Tests for api.compute.diagnostics: a server's diagnostics from what the tree
knows, in Tempest's schemas before and from 2.48, and who may ask."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.compute.diagnostics import standard
from model.compute import Instance, InstanceState, Port, Resources
from tests.unit.api.apiapp import ApiClient, check
from tests.unit.api.tree_shapes import host, leaf, router
from tests.unit.api.tree_top import TreeTopClient, tree_api

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
TOP = router("top", leaf("top!kvm", host("hv-1"), driver="libvirt"),
             leaf("top!fake", host("hv-2")), leaf("top!rhv", host("hv-3"), driver="ovirt"))
WEB = Instance(str(uuidlib.uuid4()), "web", InstanceState.ACTIVE, Resources(2, 1024, 10),
               image="cirros", ports=(Port("private", "fa:16:3e:00:00:01", "10.0.0.5"),),
               host="hv-2", cell_path="top!fake", project="shop",
               created_at=NOW - timedelta(hours=1))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[ApiClient, TreeTopClient]]:
    with tree_api(tmp_path, TOP) as (client, top):
        top.instances[WEB.uuid] = WEB
        yield client, top


def _put(top: TreeTopClient, **changes: Any) -> str:
    made = replace(WEB, uuid=str(uuidlib.uuid4()), **changes)
    top.instances[made.uuid] = made
    return made.uuid


def test_the_standard_body_says_what_the_tree_knows_and_nulls_the_rest() -> None:
    body = standard(WEB, "fake", NOW)
    assert (body["state"], body["driver"], body["hypervisor"]) == ("running", "libvirt", "fake")
    assert (body["num_cpus"], body["num_nics"], body["num_disks"]) == (2, 1, 1)
    assert body["memory_details"] == {"maximum": 1024, "used": None}
    assert body["uptime"] == 3600 and body["config_drive"] is False
    assert [c["id"] for c in body["cpu_details"]] == [0, 1]
    assert body["nic_details"][0]["mac_address"] == "fa:16:3e:00:00:01"
    assert {v for c in body["cpu_details"] for k, v in c.items() if k != "id"} == {None}
    assert {v for k, v in body["nic_details"][0].items() if k != "mac_address"} == {None}
    assert set(body["disk_details"][0].values()) == {None}


@pytest.mark.parametrize(("state", "power"), [
    (InstanceState.ACTIVE, "running"), (InstanceState.PAUSED, "paused"),
    (InstanceState.SUSPENDED, "suspended"), (InstanceState.STOPPED, "shutdown"),
    (InstanceState.BUILDING, "pending"), (InstanceState.ERROR, "pending"),
    (InstanceState.UNKNOWN, "pending")], ids=lambda v: str(v))
def test_the_state_is_the_power_state(state: InstanceState, power: str) -> None:
    assert standard(Instance(WEB.uuid, "s", state, Resources(1, 64, 0), host="h"), "libvirt",
                    NOW)["state"] == power


@pytest.mark.parametrize("cell", ["top!fake", "top!kvm"])
def test_from_2_48_the_body_is_tempests_standard(api: tuple[ApiClient, TreeTopClient],
                                                 cell: str) -> None:
    client, top = api
    uuid = _put(top, cell_path=cell)
    status, body = client.call("root", "GET", f"/servers/{uuid}/diagnostics", version="2.48")
    check("v2_48.servers", "show_server_diagnostics", status, body)
    assert body["memory_details"]["maximum"] == 1024


def test_before_2_48_the_body_is_free_form_with_the_leafs_own_driver(
        api: tuple[ApiClient, TreeTopClient]) -> None:
    client, top = api
    uuid = _put(top, cell_path="top!rhv")
    status, body = client.call("root", "GET", f"/servers/{uuid}/diagnostics", version="2.47")
    check("v2_1.servers", "show_server_diagnostics", status, body)
    assert (body["driver"], body["num_cpus"]) == ("ovirt", 2)


def test_a_driver_without_nova_s_name_has_no_standard_body(
        api: tuple[ApiClient, TreeTopClient]) -> None:
    client, top = api
    uuid = _put(top, cell_path="top!rhv")
    assert client.call("root", "GET", f"/servers/{uuid}/diagnostics", version="2.48")[0] == 501


@pytest.mark.parametrize(("user", "server", "expected"), [
    ("alice", "web", 403), ("root", "nowhere", 404), ("alice", "nowhere", 404),
    ("root", "not-a-uuid", 404), ("root", "unplaced", 409), ("root", "deleted", 404),
], ids=["member", "unknown", "member-unknown", "not-uuid", "not-placed", "deleted"])
def test_errors_are_novas(api: tuple[ApiClient, TreeTopClient], user: str, server: str,
                          expected: int) -> None:
    client, top = api
    ident = {"web": WEB.uuid, "nowhere": str(uuidlib.uuid4()), "not-a-uuid": "x" * 36,
             "unplaced": _put(top, host="", state=InstanceState.BUILDING),
             "deleted": _put(top, state=InstanceState.DELETED)}[server]
    status, body = client.call(user, "GET", f"/servers/{ident}/diagnostics")
    assert status == expected, body
