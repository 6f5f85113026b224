"""PUT /servers/{id}, server metadata and tags, lock and unlock: Nova's codes,
and bodies that Tempest's own schemas accept at the microversions they name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.api.apiapp import ApiClient, api_client, check


@pytest.fixture
def api(tmp_path: Path) -> Any:
    with api_client(tmp_path) as (client, top):
        yield client, top


def _server(client: ApiClient, user: str = "alice", **extra: Any) -> str:
    status, body = client.call(user, "POST", "/servers", {"server": {
        "name": "web", "flavorRef": "small", "networks": "none", **extra}}, version="2.37")
    assert status == 202, body
    return str(body["server"]["id"])


def test_update_renames_and_describes(api: Any) -> None:
    client, _ = api
    uuid = _server(client)
    status, body = client.call("alice", "PUT", f"/servers/{uuid}", {"server": {
        "name": "renamed", "description": "the web tier", "accessIPv4": "10.1.2.3"}},
        version="2.19")
    check("v2_19.servers", "update_server", status, body)
    assert body["server"]["name"] == "renamed"
    assert body["server"]["description"] == "the web tier"
    assert body["server"]["accessIPv4"] == "10.1.2.3"
    status, body = client.call("alice", "GET", f"/servers/{uuid}", version="2.19")
    check("v2_19.servers", "get_server", status, body)
    assert (body["server"]["name"], body["server"]["description"]) == ("renamed", "the web tier")


@pytest.mark.parametrize("server,version", [
    ({"name": ""}, "2.1"),
    ({"name": " padded "}, "2.1"),
    ({"accessIPv4": "not-an-ip"}, "2.1"),
    ({"accessIPv6": "10.0.0.1"}, "2.1"),
    ({"description": "too early"}, "2.18"),
    ({"flavorRef": "large"}, "2.19"),
], ids=["empty-name", "padded-name", "bad-ipv4", "v4-as-v6", "description-before-2.19",
        "unknown-key"])
def test_update_refuses_bad_values_and_changes_nothing(
        api: Any, server: dict[str, Any], version: str) -> None:
    client, _ = api
    uuid = _server(client)
    status, body = client.call("alice", "PUT", f"/servers/{uuid}", {"server": server},
                               version=version)
    assert status == 400, body
    _, shown = client.call("alice", "GET", f"/servers/{uuid}")
    assert shown["server"]["name"] == "web" and shown["server"]["accessIPv4"] == ""


def test_metadata_set_merge_replace_delete(api: Any) -> None:
    client, _ = api
    uuid = _server(client, metadata={"tier": "web"})
    status, body = client.call("alice", "GET", f"/servers/{uuid}/metadata")
    check("v2_1.servers", "list_server_metadata", status, body)
    assert body == {"metadata": {"tier": "web"}}
    status, body = client.call("alice", "POST", f"/servers/{uuid}/metadata",
                               {"metadata": {"owner": "ops"}})
    check("v2_1.servers", "update_server_metadata", status, body)
    assert body["metadata"] == {"tier": "web", "owner": "ops"}
    status, body = client.call("alice", "PUT", f"/servers/{uuid}/metadata/tier",
                               {"meta": {"tier": "db"}})
    check("v2_1.servers", "set_show_server_metadata_item", status, body)
    status, body = client.call("alice", "GET", f"/servers/{uuid}/metadata/tier")
    assert (status, body) == (200, {"meta": {"tier": "db"}})
    status, _ = client.call("alice", "DELETE", f"/servers/{uuid}/metadata/owner")
    check("v2_1.servers", "delete_server_metadata_item", status, None)
    status, body = client.call("alice", "PUT", f"/servers/{uuid}/metadata",
                               {"metadata": {"only": "this"}})
    check("v2_1.servers", "set_server_metadata", status, body)
    assert body == {"metadata": {"only": "this"}}


def test_metadata_refusals(api: Any) -> None:
    client, _ = api
    uuid = _server(client)
    assert client.call("alice", "GET", f"/servers/{uuid}/metadata/none")[0] == 404
    assert client.call("alice", "DELETE", f"/servers/{uuid}/metadata/none")[0] == 404
    assert client.call("alice", "PUT", f"/servers/{uuid}/metadata/a",
                       {"meta": {"b": "1"}})[0] == 400  # the key is not the URI's
    assert client.call("alice", "POST", f"/servers/{uuid}/metadata",
                       {"metadata": {"": "empty key"}})[0] == 400
    too_many = {f"k{n}": "v" for n in range(129)}
    assert client.call("alice", "POST", f"/servers/{uuid}/metadata",
                       {"metadata": too_many})[0] == 403  # the metadata_items quota
    _, body = client.call("alice", "GET", f"/servers/{uuid}/metadata")
    assert body == {"metadata": {}}


def test_create_over_the_metadata_quota_is_403_and_boots_nothing(api: Any) -> None:
    client, top = api
    status, _ = client.call("alice", "POST", "/servers", {"server": {
        "name": "x", "flavorRef": "small", "networks": "none",
        "metadata": {f"k{n}": "v" for n in range(129)}}})
    assert status == 403
    assert top.client.boots == 0


def test_tags(api: Any) -> None:
    client, _ = api
    uuid = _server(client)
    status, body = client.call("alice", "PUT", f"/servers/{uuid}/tags",
                               {"tags": ["b", "a"]}, version="2.26")
    check("v2_26.servers", "update_all_tags", status, body)
    assert body == {"tags": ["a", "b"]}
    status, _ = client.call("alice", "PUT", f"/servers/{uuid}/tags/c", version="2.26")
    assert status == 201
    assert client.call("alice", "PUT", f"/servers/{uuid}/tags/c", version="2.26")[0] == 204
    assert client.call("alice", "GET", f"/servers/{uuid}/tags/c", version="2.26")[0] == 204
    assert client.call("alice", "DELETE", f"/servers/{uuid}/tags/a", version="2.26")[0] == 204
    assert client.call("alice", "DELETE", f"/servers/{uuid}/tags/a", version="2.26")[0] == 404
    status, body = client.call("alice", "GET", f"/servers/{uuid}/tags", version="2.26")
    check("v2_26.servers", "list_tags", status, body)
    assert body == {"tags": ["b", "c"]}
    assert client.call("alice", "PUT", f"/servers/{uuid}/tags/a,b", version="2.26")[0] == 400
    assert client.call("alice", "GET", f"/servers/{uuid}/tags", version="2.25")[0] == 404
    assert client.call("alice", "DELETE", f"/servers/{uuid}/tags", version="2.26")[0] == 204
    _, body = client.call("alice", "GET", f"/servers/{uuid}", version="2.26")
    assert body["server"]["tags"] == []


def test_a_locked_server_refuses_its_members_actions_not_an_admins(api: Any) -> None:
    client, top = api
    uuid = _server(client)
    assert client.call("alice", "POST", f"/servers/{uuid}/action",
                       {"lock": {"locked_reason": "maintenance"}}, version="2.73")[0] == 202
    status, body = client.call("alice", "GET", f"/servers/{uuid}", version="2.73")
    check("v2_73.servers", "get_server", status, body)
    assert body["server"]["locked"] is True
    assert body["server"]["locked_reason"] == "maintenance"
    assert client.call("alice", "POST", f"/servers/{uuid}/action", {"os-stop": None})[0] == 409
    assert client.call("alice", "DELETE", f"/servers/{uuid}")[0] == 409
    assert client.call("alice", "POST", f"/servers/{uuid}/metadata",
                       {"metadata": {"a": "b"}})[0] == 409
    assert uuid in top.client.instances
    assert client.call("root", "POST", f"/servers/{uuid}/action", {"os-stop": None})[0] == 202
    assert client.call("alice", "POST", f"/servers/{uuid}/action", {"unlock": None})[0] == 202
    _, body = client.call("alice", "GET", f"/servers/{uuid}", version="2.73")
    assert body["server"]["locked"] is False and body["server"]["locked_reason"] is None
    assert client.call("alice", "DELETE", f"/servers/{uuid}")[0] == 204


def test_actions_nova_has_but_the_tree_does_not_build(api: Any) -> None:
    client, _ = api
    uuid = _server(client)
    nowhere = "00000000-0000-4000-8000-000000000000"
    assert client.call("root", "POST", f"/servers/{nowhere}/action", {"migrate": None})[0] == 404
    status, body = client.call("root", "POST", f"/servers/{uuid}/action", {"migrate": None})
    assert status == 409 and "migrate" in body["conflictingRequest"]["message"]
    assert client.call("root", "POST", f"/servers/{uuid}/action", {"no-such": None})[0] == 400


def test_multiple_create_answers_its_reservation_and_lists_by_it(api: Any) -> None:
    client, _ = api
    status, body = client.call("alice", "POST", "/servers", {"server": {
        "name": "batch", "flavorRef": "small", "networks": "none", "min_count": 2,
        "return_reservation_id": True}}, version="2.37")
    assert status == 202 and body["reservation_id"].startswith("r-")
    _server(client)
    _, listed = client.call("alice", "GET", f"/servers?reservation_id={body['reservation_id']}")
    assert sorted(s["name"] for s in listed["servers"]) == ["batch-1", "batch-2"]


def test_list_filters_by_flavor_and_image_and_limit_zero(api: Any) -> None:
    client, _ = api
    _server(client)
    _, body = client.call("alice", "GET", "/servers?flavor=small")
    assert len(body["servers"]) == 1
    _, body = client.call("alice", "GET", "/servers?flavor=large")
    assert body["servers"] == []
    _, body = client.call("alice", "GET", "/servers?limit=0")
    assert body["servers"] == []


def test_reset_state_is_an_admins_and_checks_its_body(api: Any) -> None:
    client, top = api
    uuid = _server(client)
    assert client.call("alice", "POST", f"/servers/{uuid}/action",
                       {"os-resetState": {"state": "error"}})[0] == 403
    assert client.call("root", "POST", f"/servers/{uuid}/action",
                       {"os-resetState": {"state": "broken"}})[0] == 400
    assert client.call("root", "POST", f"/servers/{uuid}/action",
                       {"os-resetState": {"state": "error"}})[0] == 202
    assert top.client.instances[uuid].attributes.reset_to_error
    assert client.call("root", "POST", f"/servers/{uuid}/action",
                       {"os-resetState": {"state": "active"}})[0] == 202
    assert not top.client.instances[uuid].attributes.reset_to_error


def test_inject_network_info_is_an_admins_and_writes_nothing(api: Any) -> None:
    client, top = api
    uuid = _server(client)
    before = top.client.instances[uuid]
    assert client.call("alice", "POST", f"/servers/{uuid}/action",
                       {"injectNetworkInfo": None})[0] == 403
    assert client.call("root", "POST", f"/servers/{uuid}/action",
                       {"injectNetworkInfo": None})[0] == 202
    nowhere = "00000000-0000-4000-8000-000000000000"
    assert client.call("root", "POST", f"/servers/{nowhere}/action",
                       {"injectNetworkInfo": None})[0] == 404
    assert top.client.instances[uuid] == before
