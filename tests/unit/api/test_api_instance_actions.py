"""os-instance-actions: Nova's bodies at each microversion, checked against
Tempest's own schemas, its 404s and its paging; x-compute-request-id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.api.apiapp import ApiClient, api_client, check

MISSING = "00000000-0000-0000-0000-00000000abcd"


@pytest.fixture
def api(tmp_path: Path) -> Any:
    with api_client(tmp_path) as (client, top):
        yield client, top


def _server(client: ApiClient) -> tuple[str, str]:
    """A server of alice's, and the request id of its create."""
    status, body = client.call("alice", "POST", "/servers", {"server": {
        "name": "web", "flavorRef": "small", "networks": "none"}}, version="2.37")
    assert status == 202, body
    rid = client.headers["x-compute-request-id"]
    assert rid == client.headers["x-openstack-request-id"]
    return str(body["server"]["id"]), rid


def _actions(client: ApiClient, uuid: str, version: str = "2.1", user: str = "alice",
             query: str = "") -> tuple[int, Any]:
    return client.call(user, "GET", f"/servers/{uuid}/os-instance-actions{query}",
                       version=version)


def test_list_and_show_at_2_1(api: Any) -> None:
    client, _ = api
    uuid, rid = _server(client)
    assert client.call("alice", "POST", f"/servers/{uuid}/action",
                       {"reboot": {"type": "HARD"}})[0] == 202
    reboot_rid = client.headers["x-compute-request-id"]
    status, body = _actions(client, uuid)
    check("v2_1.servers", "list_instance_actions", status, body)
    assert [(a["action"], a["request_id"]) for a in body["instanceActions"]] == [
        ("reboot", reboot_rid), ("create", rid)]
    assert body["instanceActions"][1]["instance_uuid"] == uuid
    status, body = _actions(client, uuid, query=f"/{rid}")
    check("v2_1.servers", "show_instance_action", status, body)
    assert body["instanceAction"]["action"] == "create"
    assert "events" not in body["instanceAction"]  # a member's events come at 2.51
    status, body = _actions(client, uuid, user="root", query=f"/{reboot_rid}")
    check("v2_1.servers", "show_instance_action", status, body)
    event, = body["instanceAction"]["events"]
    assert (event["event"], event["result"], event["traceback"]) == (
        "compute_reboot_instance", "Success", None)


@pytest.mark.parametrize(("version", "schemas"), [
    ("2.51", "v2_51.servers"), ("2.58", "v2_58.servers"), ("2.62", "v2_62.servers"),
    ("2.84", "v2_84.servers"), ("2.100", "v2_100.servers"),
], ids=["events-2.51", "updated_at-2.58", "hosts-2.62", "details-2.84", "latest"])
def test_bodies_per_microversion(api: Any, version: str, schemas: str) -> None:
    client, _ = api
    uuid, rid = _server(client)
    status, body = _actions(client, uuid, version)
    check(schemas, "list_instance_actions", status, body)
    at = tuple(int(n) for n in version.split("."))
    for user in ("alice", "root"):
        status, body = _actions(client, uuid, version, user, f"/{rid}")
        check(schemas, "show_instance_action", status, body)
        event, = body["instanceAction"]["events"]
        assert ("host" in event) == (user == "root" and at >= (2, 62))
        assert ("traceback" in event) == (user == "root")
        assert ("hostId" in event) == (at >= (2, 62))
        assert ("details" in event) == (at >= (2, 84))


def test_paging_and_changes_since_at_2_58(api: Any) -> None:
    client, _ = api
    uuid, rid = _server(client)
    for _ in range(2):
        client.call("alice", "POST", f"/servers/{uuid}/action", {"reboot": {"type": "SOFT"}})
    status, body = _actions(client, uuid, "2.58", query="?limit=2")
    check("v2_58.servers", "list_instance_actions", status, body)
    first = [a["request_id"] for a in body["instanceActions"]]
    assert len(first) == 2 and "marker=" in body["links"][0]["href"]
    status, body = _actions(client, uuid, "2.58", query=f"?limit=2&marker={first[-1]}")
    assert [a["request_id"] for a in body["instanceActions"]] == [rid]
    assert "links" not in body
    assert _actions(client, uuid, "2.58", query="?marker=req-nope")[0] == 400
    assert _actions(client, uuid, "2.58", query="?sort=x")[0] == 400
    assert _actions(client, uuid, "2.58", query="?limit=-1")[0] == 400
    assert _actions(client, uuid, "2.1", query="?sort=x")[0] == 200  # ignored before 2.58
    status, body = _actions(client, uuid, "2.58", query="?changes-since=2999-01-01T00:00:00Z")
    assert (status, body["instanceActions"]) == (200, [])
    assert _actions(client, uuid, "2.65", query="?changes-before=2999-01-01")[0] == 400
    status, body = _actions(client, uuid, "2.66", query="?changes-before=2999-01-01")
    assert len(body["instanceActions"]) == 3
    assert _actions(client, uuid, "2.66", query="?changes-since=2999-01-02&changes-before="
                    "2999-01-01")[0] == 400


def test_a_deleted_servers_actions_from_2_21(api: Any) -> None:
    client, _ = api
    uuid, _ = _server(client)
    assert client.call("alice", "DELETE", f"/servers/{uuid}")[0] == 204
    assert _actions(client, uuid, "2.20")[0] == 404
    status, body = _actions(client, uuid, "2.21")
    check("v2_1.servers", "list_instance_actions", status, body)
    assert sorted(a["action"] for a in body["instanceActions"]) == ["create", "delete"]


def test_404s(api: Any) -> None:
    client, _ = api
    uuid, _ = _server(client)
    status, body = _actions(client, uuid, query="/req-00000000-0000-0000-0000-000000000000")
    assert status == 404 and "not found" in body["itemNotFound"]["message"]
    assert _actions(client, MISSING)[0] == 404
    assert _actions(client, "not-a-uuid")[0] == 404


def test_every_compute_answer_has_x_compute_request_id(api: Any) -> None:
    client, _ = api
    client.call("alice", "GET", "/servers")
    assert client.headers["x-compute-request-id"] == client.headers["x-openstack-request-id"]
