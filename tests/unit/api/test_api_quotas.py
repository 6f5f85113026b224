"""Quota sets, limits and the check at server create, against a real SQLite API
database and a fake top; bodies checked against Tempest's schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.api.apiapp import ApiClient, FakeTop, api_client, check

SERVER = {"server": {"name": "s", "flavorRef": "small", "networks": "none"}}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[ApiClient, FakeTop]]:
    with api_client(tmp_path) as made:
        yield made


@pytest.mark.parametrize(("version", "schemas"), [
    ("2.1", "v2_1.quotas"), ("2.36", "v2_36.quotas"), ("2.57", "v2_57.quotas"),
    ("2.100", "v2_57.quotas"),
])
def test_quota_bodies_match_tempest_s_schemas(
        api: tuple[ApiClient, FakeTop], version: str, schemas: str) -> None:
    client, _ = api
    check(schemas, "get_quota_set", *client.call("alice", "GET", "/os-quota-sets/shop",
                                                 None, version))
    check(schemas, "get_quota_set", *client.call("alice", "GET",
                                                 "/os-quota-sets/shop/defaults", None, version))
    check(schemas, "get_quota_set_details",
          *client.call("alice", "GET", "/os-quota-sets/shop/detail", None, version))
    check(schemas, "update_quota_set", *client.call(
        "root", "PUT", "/os-quota-sets/shop", {"quota_set": {"cores": 30}}, version))


@pytest.mark.parametrize(("version", "schemas"), [
    ("2.1", "v2_1.limits"), ("2.36", "v2_36.limits"), ("2.39", "v2_39.limits"),
    ("2.57", "v2_57.limits"), ("2.100", "v2_57.limits"),
])
def test_limits_match_tempest_s_schemas(
        api: tuple[ApiClient, FakeTop], version: str, schemas: str) -> None:
    check(schemas, "get_limit", *api[0].call("alice", "GET", "/limits", None, version))


def test_members_see_their_own_quotas_only_and_cannot_change_them(
        api: tuple[ApiClient, FakeTop]) -> None:
    client, _ = api
    assert client.call("alice", "GET", "/os-quota-sets/lab")[0] == 403
    assert client.call("alice", "PUT", "/os-quota-sets/shop",
                       {"quota_set": {"instances": 99}})[0] == 403
    assert client.call("root", "GET", "/os-quota-sets/shop")[0] == 200


def test_an_update_is_shown_and_a_delete_brings_back_the_defaults(
        api: tuple[ApiClient, FakeTop]) -> None:
    client, _ = api
    status, updated = client.call("root", "PUT", "/os-quota-sets/shop",
                                  {"quota_set": {"instances": 3, "force": True}})
    assert status == 200 and updated["quota_set"]["instances"] == 3
    assert client.call("alice", "GET", "/os-quota-sets/shop")[1]["quota_set"]["instances"] == 3
    assert client.call("root", "DELETE", "/os-quota-sets/shop")[0] == 202
    assert client.call("alice", "GET", "/os-quota-sets/shop")[1]["quota_set"]["instances"] == 10


@pytest.mark.parametrize("body", [
    {"quota_set": {"instances": -2}}, {"quota_set": {"instances": "many"}},
    {"quota_set": {"nonsense": 1}}, {"quota": {}},
], ids=["below-minus-one", "not-a-number", "unknown-resource", "no-quota-set"])
def test_bad_updates_are_400(api: tuple[ApiClient, FakeTop], body: object) -> None:
    assert api[0].call("root", "PUT", "/os-quota-sets/shop", body)[0] == 400


def test_network_resources_are_refused_from_2_36(api: tuple[ApiClient, FakeTop]) -> None:
    body = {"quota_set": {"floating_ips": 3}}
    assert api[0].call("root", "PUT", "/os-quota-sets/shop", body, "2.35")[0] == 200
    assert api[0].call("root", "PUT", "/os-quota-sets/shop", body, "2.36")[0] == 400


def test_a_create_over_the_instances_quota_is_nova_s_403(api: tuple[ApiClient, FakeTop]) -> None:
    client, top = api
    client.call("root", "PUT", "/os-quota-sets/shop", {"quota_set": {"instances": 2}})
    for _ in range(2):
        assert client.call("alice", "POST", "/servers", SERVER, "2.37")[0] == 202
    status, body = client.call("alice", "POST", "/servers", SERVER, "2.37")
    assert status == 403
    assert body["forbidden"]["message"] == ("Quota exceeded for instances: Requested 1, but"
                                            " already used 2 of 2 instances")
    assert top.client.boots == 2
    assert client.call("bob", "POST", "/servers", SERVER, "2.37")[0] == 202  # lab's own


def test_cores_and_ram_count_flavors(api: tuple[ApiClient, FakeTop]) -> None:
    client, _ = api
    client.call("root", "PUT", "/os-quota-sets/shop", {"quota_set": {"cores": 5}})
    large = {"server": {**SERVER["server"], "flavorRef": "large"}}
    assert client.call("alice", "POST", "/servers", large, "2.37")[0] == 202
    status, body = client.call("alice", "POST", "/servers", large, "2.37")
    assert status == 403
    assert body["forbidden"]["message"] == ("Quota exceeded for cores: Requested 4, but"
                                            " already used 4 of 5 cores")
    _, limits = client.call("alice", "GET", "/limits")
    assert limits["limits"]["absolute"]["totalCoresUsed"] == 4
    assert limits["limits"]["absolute"]["totalRAMUsed"] == 8192
    assert limits["limits"]["absolute"]["totalInstancesUsed"] == 1


def test_a_multiple_create_boots_as_many_as_the_quota_allows_from_min_count(
        api: tuple[ApiClient, FakeTop]) -> None:
    client, top = api
    client.call("root", "PUT", "/os-quota-sets/shop", {"quota_set": {"instances": 3}})
    many = {"server": {**SERVER["server"], "min_count": 2, "max_count": 5}}
    assert client.call("alice", "POST", "/servers", many, "2.37")[0] == 202
    assert top.client.boots == 3
    assert client.call("alice", "POST", "/servers", many, "2.37")[0] == 403
    _, detail = client.call("alice", "GET", "/os-quota-sets/shop/detail")
    assert detail["quota_set"]["instances"] == {"limit": 3, "in_use": 3, "reserved": 0}
