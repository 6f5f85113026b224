"""Tests for api.compute.server_groups: through the app against a fake top,
every body checked against Tempest's schema for it, and a create of servers
with the `group` hint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model.compute import BootSpec, Instance
from tests.unit.api.apiapp import ApiClient, FakeTopClient, api_client, check

SCHEMAS = {"2.1": "v2_1.server_groups", "2.13": "v2_13.server_groups",
           "2.64": "v2_64.server_groups"}


class HintsTopClient(FakeTopClient):
    """The fake top, keeping the hints of each boot."""

    def __init__(self) -> None:
        super().__init__()
        self.hints: list[dict[str, str]] = []

    async def boot(self, spec: BootSpec, metadata: Any = ()) -> Instance:
        self.hints.append(dict(spec.hints))
        return await super().boot(spec, metadata)


@pytest.fixture
def fake() -> HintsTopClient:
    return HintsTopClient()


@pytest.fixture
def api(tmp_path: Path, fake: HintsTopClient) -> Iterator[ApiClient]:
    with api_client(tmp_path) as (client, top):
        top.client = fake
        yield client


def _fields(version: str, policy: str = "affinity") -> dict[str, Any]:
    if version >= "2.64":
        return {"name": "web", "policy": policy}
    return {"name": "web", "policies": [policy]}


def _group(api: ApiClient, version: str = "2.1", user: str = "alice",
           policy: str = "affinity") -> dict[str, Any]:
    status, body = api.call(user, "POST", "/os-server-groups",
                            {"server_group": _fields(version, policy)}, version)
    check(SCHEMAS[version], "create_show_server_group", status, body)
    return dict(body["server_group"])


@pytest.mark.parametrize("version", list(SCHEMAS))
def test_a_group_through_its_life_matches_tempests_schemas(api: ApiClient,
                                                           version: str) -> None:
    made = _group(api, version)
    path = f"/os-server-groups/{made['id']}"
    status, body = api.call("alice", "GET", path, version=version)
    check(SCHEMAS[version], "create_show_server_group", status, body)
    status, body = api.call("alice", "GET", "/os-server-groups", version=version)
    check(SCHEMAS[version], "list_server_groups", status, body)
    assert [g["id"] for g in body["server_groups"]] == [made["id"]]
    status, body = api.call("alice", "DELETE", path, version=version)
    check(SCHEMAS[version], "delete_server_group", status, body)
    assert api.call("alice", "GET", path, version=version)[0] == 404


def test_rules_are_shown_from_264(api: ApiClient) -> None:
    status, body = api.call("alice", "POST", "/os-server-groups", {"server_group": {
        "name": "db", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}},
        "2.64")
    check(SCHEMAS["2.64"], "create_show_server_group", status, body)
    assert body["server_group"]["rules"] == {"max_server_per_host": 2}


def test_groups_are_their_projects(api: ApiClient) -> None:
    made = _group(api)
    assert api.call("bob", "GET", f"/os-server-groups/{made['id']}")[0] == 404
    assert api.call("bob", "GET", "/os-server-groups")[1] == {"server_groups": []}
    assert api.call("bob", "GET", "/os-server-groups?all_projects=True")[1] == {
        "server_groups": []}
    listed = api.call("root", "GET", "/os-server-groups?all_projects=True")[1]
    assert [g["id"] for g in listed["server_groups"]] == [made["id"]]


@pytest.mark.parametrize(("version", "fields"), [
    ("2.1", {"name": "web", "policies": ["soft-affinity"]}),
    ("2.1", {"name": "web", "policies": ["affinity", "anti-affinity"]}),
    ("2.1", {"name": "", "policies": ["affinity"]}),
    ("2.1", {"name": "web", "policy": "affinity"}),
    ("2.64", {"name": "web", "policies": ["affinity"]}),
    ("2.64", {"name": "web", "policy": "affinity", "rules": {"max_server_per_host": 2}}),
    ("2.64", {"name": "web", "policy": "anti-affinity", "rules": {"max_server_per_host": 0}}),
], ids=["soft-before-215", "two-policies", "empty-name", "policy-before-264",
        "policies-from-264", "rules-for-affinity", "rules-zero"])
def test_bad_creates_are_400(api: ApiClient, version: str, fields: dict[str, Any]) -> None:
    assert api.call("alice", "POST", "/os-server-groups", {"server_group": fields},
                    version)[0] == 400


def test_the_quota_counts_groups(api: ApiClient) -> None:
    api.call("root", "PUT", "/os-quota-sets/shop", {"quota_set": {"server_groups": 1}})
    _group(api)
    status, body = api.call("alice", "POST", "/os-server-groups",
                            {"server_group": _fields("2.1")})
    assert status == 403
    assert body["forbidden"]["message"] == "Quota exceeded, too many server groups."
    limits = api.call("alice", "GET", "/limits")[1]["limits"]["absolute"]
    assert limits["totalServerGroupsUsed"] == 1


def _boot(api: ApiClient, group: str, count: int = 1) -> tuple[int, Any]:
    return api.call("alice", "POST", "/servers", {
        "server": {"name": "vm", "flavorRef": "small", "networks": "none",
                   "min_count": count, "max_count": count},
        "os:scheduler_hints": {"group": group}})


def test_a_server_created_in_a_group_carries_its_policy_and_joins_it(
        api: ApiClient, fake: HintsTopClient) -> None:
    made = _group(api, policy="anti-affinity")
    status, body = _boot(api, made["id"], count=2)
    assert status == 202, body
    assert [(h["group"], h["group_policy"], h["group_members"]) for h in fake.hints] == [
        (f"shop:{made['id']}", "anti-affinity", "0"),
        (f"shop:{made['id']}", "anti-affinity", "1")]
    group = api.call("alice", "GET", f"/os-server-groups/{made['id']}")[1]["server_group"]
    assert len(group["members"]) == 2
    assert body["server"]["id"] in group["members"]
    api.call("alice", "DELETE", f"/servers/{body['server']['id']}")
    group = api.call("alice", "GET", f"/os-server-groups/{made['id']}")[1]["server_group"]
    assert len(group["members"]) == 1


def test_a_groups_max_server_per_host_rule_goes_down_with_its_boots(
        api: ApiClient, fake: HintsTopClient) -> None:
    status, made = api.call("alice", "POST", "/os-server-groups", {"server_group": {
        "name": "pairs", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}},
        "2.64")
    assert status == 200, made
    assert _boot(api, made["server_group"]["id"])[0] == 202
    assert fake.hints[-1]["group_max_per_host"] == "2"
    plain = _group(api, policy="anti-affinity")
    assert _boot(api, plain["id"])[0] == 202
    assert "group_max_per_host" not in fake.hints[-1]  # the leaf's option then


@pytest.mark.parametrize(("group", "expected"), [
    ("not-a-uuid", 400), ("00000000-0000-0000-0000-000000000009", 404)],
    ids=["not-a-uuid", "no-such-group"])
def test_a_bad_group_hint_is_refused(api: ApiClient, group: str, expected: int) -> None:
    assert _boot(api, group)[0] == expected


def test_another_projects_group_is_not_found(api: ApiClient) -> None:
    made = _group(api, user="bob")
    assert _boot(api, made["id"])[0] == 404


def test_a_full_group_takes_no_more_members(api: ApiClient) -> None:
    api.call("root", "PUT", "/os-quota-sets/shop", {"quota_set": {"server_group_members": 1}})
    made = _group(api)
    status, body = _boot(api, made["id"], count=2)
    assert status == 403
    assert body["forbidden"]["message"] == "Quota exceeded, too many servers in group"
