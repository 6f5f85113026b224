"""Flavors managed by admins: create, delete, extra specs, access; bodies
checked against Tempest's schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.api.apiapp import ApiClient, FakeTop, api_client, check

NEW = {"flavor": {"name": "tiny", "id": "t1", "ram": 256, "vcpus": 1, "disk": 1}}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[ApiClient, FakeTop]]:
    with api_client(tmp_path) as made:
        yield made


@pytest.mark.parametrize(("version", "schemas"), [
    ("2.1", "v2_1.flavors"), ("2.55", "v2_55.flavors"), ("2.61", "v2_61.flavors"),
])
def test_an_admin_creates_and_deletes_a_flavor(
        api: tuple[ApiClient, FakeTop], version: str, schemas: str) -> None:
    client, _ = api
    check(schemas, "create_update_get_flavor_details",
          *client.call("root", "POST", "/flavors", NEW, version))
    assert client.call("root", "POST", "/flavors", NEW, version)[0] == 409
    check(schemas, "delete_flavor", *client.call("root", "DELETE", "/flavors/t1", None, version))
    assert client.call("root", "DELETE", "/flavors/t1", None, version)[0] == 404


def test_members_cannot_manage_flavors_and_configured_ones_stay(
        api: tuple[ApiClient, FakeTop]) -> None:
    client, _ = api
    assert client.call("alice", "POST", "/flavors", NEW)[0] == 403
    assert client.call("root", "DELETE", "/flavors/small")[0] == 409
    assert client.call("root", "POST", "/flavors",
                       {"flavor": {**NEW["flavor"], "name": "small", "id": "x"}})[0] == 409


def test_extra_specs_crud(api: tuple[ApiClient, FakeTop]) -> None:
    client, _ = api
    client.call("root", "POST", "/flavors", NEW)
    specs = {"extra_specs": {"hw:cpu_policy": "dedicated", "quota:x": "1"}}
    check("v2_1.flavors_extra_specs", "set_get_flavor_extra_specs",
          *client.call("root", "POST", "/flavors/t1/os-extra_specs", specs))
    check("v2_1.flavors_extra_specs", "set_get_flavor_extra_specs",
          *client.call("alice", "GET", "/flavors/t1/os-extra_specs"))
    check("v2_1.flavors_extra_specs", "set_get_flavor_extra_specs_key",
          *client.call("root", "PUT", "/flavors/t1/os-extra_specs/quota:x", {"quota:x": "2"}))
    assert client.call("alice", "GET", "/flavors/t1/os-extra_specs/quota:x")[1] == {
        "quota:x": "2"}
    assert client.call("root", "PUT", "/flavors/t1/os-extra_specs/a", {"b": "1"})[0] == 400
    assert client.call("alice", "POST", "/flavors/t1/os-extra_specs", specs)[0] == 403
    check("v2_1.flavors_extra_specs", "unset_flavor_extra_specs",
          *client.call("root", "DELETE", "/flavors/t1/os-extra_specs/quota:x"))
    assert client.call("root", "GET", "/flavors/t1/os-extra_specs/quota:x")[0] == 404


def test_a_private_flavor_is_for_the_projects_given_access(
        api: tuple[ApiClient, FakeTop]) -> None:
    client, top = api
    private = {"flavor": {**NEW["flavor"], "os-flavor-access:is_public": False}}
    client.call("root", "POST", "/flavors", private)
    server = {"server": {"name": "s", "flavorRef": "t1", "networks": "none"}}
    assert client.call("alice", "POST", "/servers", server, "2.37")[0] == 400
    add = {"addTenantAccess": {"tenant": "shop"}}
    check("v2_1.flavors_access", "add_remove_list_flavor_access",
          *client.call("root", "POST", "/flavors/t1/action", add))
    assert client.call("root", "POST", "/flavors/t1/action", add)[0] == 409
    check("v2_1.flavors_access", "add_remove_list_flavor_access",
          *client.call("root", "GET", "/flavors/t1/os-flavor-access"))
    assert client.call("alice", "POST", "/servers", server, "2.37")[0] == 202
    assert top.client.instances.popitem()[1].flavor.memory_mb == 256
    assert client.call("bob", "POST", "/servers", server, "2.37")[0] == 400
    remove = {"removeTenantAccess": {"tenant": "shop"}}
    status, left = client.call("root", "POST", "/flavors/t1/action", remove)
    assert status == 200 and left == {"flavor_access": []}


@pytest.mark.parametrize("flavor", [
    {"id": None}, {"id": 1234}, {"id": "b9c1e0e4-3f7a-4f5e-9a41-2f1d6c9a3b10"},
    {"ram": "1024", "vcpus": "2", "disk": "0"},
    {"os-flavor-access:is_public": "False", "rxtx_factor": 2, "swap": 1024,
     "OS-FLV-EXT-DATA:ephemeral": 10},
    {"os-flavor-access:is_public": "TRUE", "rxtx_factor": "1.5", "swap": "0"},
    {"name": "a name with spaces é ☃"},
], ids=["null-id", "int-id", "uuid-id", "string-numbers", "all-extras",
        "string-public-and-factor", "unicode-name"])
def test_create_accepts_what_nova_accepts(api: tuple[ApiClient, FakeTop],
                                          flavor: dict[str, object]) -> None:
    client, _ = api
    status, body = client.call("root", "POST", "/flavors", {"flavor": {
        **{k: v for k, v in NEW["flavor"].items() if k != "id"}, **flavor}})
    check("v2_1.flavors", "create_update_get_flavor_details", status, body)
    if "id" in flavor:
        assert body["flavor"]["id"] == str(flavor["id"] or body["flavor"]["id"])
    assert client.call("root", "GET", f"/flavors/{body['flavor']['id']}")[1] == body


@pytest.mark.parametrize("flavor", [
    {"name": " lead"}, {"name": ""}, {"name": 5}, {"id": "bad/id"}, {"id": " x"},
    {"id": True}, {"ram": 0}, {"ram": "1.5"}, {"vcpus": -1}, {"disk": "-1"},
    {"swap": ""}, {"ram": 1.0}, {"rxtx_factor": 0}, {"rxtx_factor": "x"},
    {"os-flavor-access:is_public": "maybe"}, {"description": "only at 2.55"},
    {"OS-FLV-DISABLED:disabled": True}, {"ram": None},
], ids=lambda flavor: "-".join(f"{k}={v}" for k, v in flavor.items()))
def test_create_refuses_what_nova_refuses(api: tuple[ApiClient, FakeTop],
                                          flavor: dict[str, object]) -> None:
    client, _ = api
    status, body = client.call("root", "POST", "/flavors",
                               {"flavor": {**NEW["flavor"], **flavor}})
    assert status == 400, body
    assert body["badRequest"]["code"] == 400


def test_create_conflicts_name_the_id_or_the_name(api: tuple[ApiClient, FakeTop]) -> None:
    client, _ = api
    client.call("root", "POST", "/flavors", NEW)
    status, body = client.call("root", "POST", "/flavors",
                               {"flavor": {**NEW["flavor"], "name": "other"}})
    assert (status, body["conflictingRequest"]["message"]) == (
        409, "Flavor with ID t1 already exists.")
    status, body = client.call("root", "POST", "/flavors",
                               {"flavor": {**NEW["flavor"], "id": "t2"}})
    assert (status, body["conflictingRequest"]["message"]) == (
        409, "Flavor with name tiny already exists.")


def test_swap_is_an_empty_string_until_2_75(api: tuple[ApiClient, FakeTop]) -> None:
    client, _ = api
    assert client.call("root", "POST", "/flavors", NEW)[1]["flavor"]["swap"] == ""
    assert client.call("root", "GET", "/flavors/t1", None, "2.75")[1]["flavor"]["swap"] == 0


def test_an_admin_describes_a_flavor_from_2_55(api: tuple[ApiClient, FakeTop]) -> None:
    client, _ = api
    client.call("root", "POST", "/flavors", NEW)
    described = {"flavor": {"description": "for tests"}}
    assert client.call("root", "PUT", "/flavors/t1", described)[0] == 404
    status, body = client.call("root", "PUT", "/flavors/t1", described, "2.55")
    check("v2_55.flavors", "create_update_get_flavor_details", status, body)
    assert body["flavor"]["description"] == "for tests"
    assert client.call("alice", "PUT", "/flavors/t1", described, "2.55")[0] == 403
    assert client.call("root", "PUT", "/flavors/t1", {"flavor": {}}, "2.55")[0] == 400
    assert client.call("root", "PUT", "/flavors/small", described, "2.55")[0] == 409
