"""Nova's proxy of security groups (os-security-groups, os-security-group-rules,
a server's groups, addSecurityGroup and removeSecurityGroup) over the network
service's groups, every answer checked against Tempest's schemas; a server's
body names its ports' groups, and has no `security_groups` at all when it has
none. Kept and served only: no host enforces the groups yet."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from api.app import build_app
from api.config import ApiConfig
from api.identity.keys import KeyRepository
from api.network.routes import SERVICE
from model.compute import BootSpec, Instance
from network.resources import Caller, NetworkSpec, SubnetSpec
from tests.unit.api.apiapp import FLAVORS, ApiClient, FakeTop, FakeTopClient, check


class PortsTopClient(FakeTopClient):
    """A top that keeps the uuid and ports a boot carries, and takes the
    network agent's port objects (and forgets them)."""

    async def boot(self, spec: BootSpec, metadata: Any = ()) -> Instance:
        made = await super().boot(spec, metadata)
        del self.instances[made.uuid]
        made = replace(made, uuid=spec.uuid or made.uuid, ports=spec.ports)
        self.instances[made.uuid] = made
        return made

    async def place_object(self, spec: Any, metadata: Any = ()) -> None:
        del spec, metadata

    async def list_objects(self, kind: str = "", metadata: Any = ()) -> list[Any]:
        del kind, metadata
        return []


class PortsTop(FakeTop):
    def __init__(self) -> None:
        self.client = PortsTopClient()

    def own_metadata(self, request_id: str) -> tuple[tuple[str, str], ...]:
        return (("x-request-id", request_id),)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    KeyRepository(tmp_path / "keys").init()
    config = ApiConfig(listen="127.0.0.1:8774", top="127.0.0.1:1",
                       users_file=tmp_path / "users.json", keys_dir=tmp_path / "keys",
                       flavors=FLAVORS)
    client = ApiClient(build_app(config, tree=PortsTop()))  # type: ignore[arg-type]
    try:
        yield client
    finally:
        client.close()


def network(api: ApiClient, project: str = "shop") -> str:
    net = api.app[SERVICE]
    made = net.networks.create(Caller(project), NetworkSpec("fixed"))
    net.subnets.create(Caller(project), SubnetSpec(made.id, "10.5.0.0/24"))
    return made.id


def create_group(api: ApiClient, name: str, user: str = "alice") -> dict[str, Any]:
    status, body = api.call(user, "POST", "/os-security-groups",
                            {"security_group": {"name": name, "description": f"{name} d"}})
    check("v2_1.security_groups", "create_security_group", status, body)
    group: dict[str, Any] = body["security_group"]
    return group


def boot(api: ApiClient, networks: Any, **more: Any) -> tuple[int, Any]:
    return api.call("alice", "POST", "/servers", {"server": {
        "name": "w", "flavorRef": "small", "networks": networks, **more}})


def test_groups_listed_shown_updated_and_deleted(api: ApiClient) -> None:
    status, body = api.call("alice", "GET", "/os-security-groups")
    check("v2_1.security_groups", "list_security_groups", status, body)
    [default] = body["security_groups"]
    assert default["name"] == "default" and default["tenant_id"] == "shop"
    assert [r["group"] for r in default["rules"]] == [{"name": "default", "tenant_id": "shop"}] * 2
    made = create_group(api, " spaced name ")
    assert made["name"] == " spaced name " and made["rules"] == []  # egress is not Nova's
    status, body = api.call("alice", "GET", f"/os-security-groups/{made['id']}")
    check("v2_1.security_groups", "get_security_group", status, body)
    assert body["security_group"] == made
    assert made in api.call("alice", "GET", "/os-security-groups")[1]["security_groups"]
    assert made not in api.call("bob", "GET", "/os-security-groups")[1]["security_groups"]
    status, body = api.call("alice", "PUT", f"/os-security-groups/{made['id']}",
                            {"security_group": {"name": "new", "description": "newer"}})
    check("v2_1.security_groups", "update_security_group", status, body)
    assert (body["security_group"]["name"], body["security_group"]["description"]) == (
        "new", "newer")
    status, body = api.call("alice", "DELETE", f"/os-security-groups/{made['id']}")
    check("v2_1.security_groups", "delete_security_group", status, body)
    assert api.call("alice", "GET", f"/os-security-groups/{made['id']}")[0] == 404


@pytest.mark.parametrize(("method", "path", "body", "code"), [
    ("GET", f"/os-security-groups/{uuidlib.UUID(int=7)}", None, 404),
    ("GET", "/os-security-groups/not-a-uuid", None, 400),
    ("DELETE", f"/os-security-groups/{uuidlib.UUID(int=7)}", None, 404),
    ("DELETE", "/os-security-groups/", None, 404),
    ("PUT", f"/os-security-groups/{uuidlib.UUID(int=7)}",
     {"security_group": {"name": "a", "description": "b"}}, 404),
    ("POST", "/os-security-groups", {"security_group": {"name": "a" * 256,
                                                        "description": "b"}}, 400),
    ("POST", "/os-security-groups", {"security_group": {"name": "a"}}, 400),
    ("DELETE", f"/os-security-group-rules/{uuidlib.UUID(int=7)}", None, 404),
], ids=["show-missing", "show-not-uuid", "delete-missing", "delete-no-id", "update-missing",
        "name-too-long", "no-description", "delete-missing-rule"])
def test_refusals_are_novas(api: ApiClient, method: str, path: str, body: Any,
                            code: int) -> None:
    assert api.call("alice", method, path, body)[0] == code


def test_the_default_group_and_one_in_use_are_not_deleted(api: ApiClient) -> None:
    groups = api.call("alice", "GET", "/os-security-groups")[1]["security_groups"]
    default = next(g for g in groups if g["name"] == "default")
    assert api.call("alice", "DELETE", f"/os-security-groups/{default['id']}")[0] == 400
    group = create_group(api, "busy")
    status, body = boot(api, [{"uuid": network(api)}], security_groups=[{"name": "busy"}])
    assert status == 202, body
    check("v2_1.servers", "create_server", status, body)
    assert body["server"]["security_groups"] == [{"name": "busy"}]
    assert api.call("alice", "DELETE", f"/os-security-groups/{group['id']}")[0] == 400
    assert api.call("alice", "DELETE", f"/servers/{body['server']['id']}")[0] == 204
    assert api.call("alice", "DELETE", f"/os-security-groups/{group['id']}")[0] == 202


RULES = [
    ("tcp 22", {"ip_protocol": "tcp", "from_port": 22, "to_port": 22},
     {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "ip_range": {"cidr": "0.0.0.0/0"},
      "group": {}}),
    ("icmp any from a cidr", {"ip_protocol": "icmp", "from_port": -1, "to_port": -1,
                              "cidr": "10.2.3.124/24"},
     {"ip_protocol": "icmp", "from_port": -1, "to_port": -1,
      "ip_range": {"cidr": "10.2.3.124/24"}, "group": {}}),
]


@pytest.mark.parametrize(("asked", "shown"), [(a, s) for _, a, s in RULES],
                         ids=[n for n, _, _ in RULES])
def test_rules_made_shown_and_deleted(api: ApiClient, asked: dict[str, Any],
                                      shown: dict[str, Any]) -> None:
    group = create_group(api, "g")
    status, body = api.call("alice", "POST", "/os-security-group-rules", {
        "security_group_rule": {"parent_group_id": group["id"], **asked}})
    check("v2_1.security_groups", "create_security_group_rule", status, body)
    rule = body["security_group_rule"]
    assert {k: rule[k] for k in shown} == shown and rule["parent_group_id"] == group["id"]
    rules = api.call("alice", "GET", f"/os-security-groups/{group['id']}")[1][
        "security_group"]["rules"]
    assert rules == [rule]
    status, body = api.call("alice", "POST", "/os-security-group-rules", {
        "security_group_rule": {"parent_group_id": group["id"], **asked}})
    assert status == 400 and "already exists" in body["badRequest"]["message"]
    status, body = api.call("alice", "DELETE", f"/os-security-group-rules/{rule['id']}")
    check("v2_1.security_groups", "delete_security_group_rule", status, body)


def test_a_rule_from_a_group_goes_with_that_group(api: ApiClient) -> None:
    group, peer = create_group(api, "g"), create_group(api, "peer")
    status, body = api.call("alice", "POST", "/os-security-group-rules", {
        "security_group_rule": {"parent_group_id": group["id"], "ip_protocol": "tcp",
                                "from_port": 22, "to_port": 22, "group_id": peer["id"]}})
    check("v2_1.security_groups", "create_security_group_rule", status, body)
    assert body["security_group_rule"]["group"] == {"name": "peer", "tenant_id": "shop"}
    assert body["security_group_rule"]["ip_range"] == {}
    api.call("alice", "DELETE", f"/os-security-groups/{peer['id']}")
    shown = api.call("alice", "GET", f"/os-security-groups/{group['id']}")[1]
    assert shown["security_group"]["rules"] == []


@pytest.mark.parametrize(("rule", "code"), [
    ({"ip_protocol": "tcp", "from_port": 22, "to_port": 21}, 400),
    ({"ip_protocol": "tcp", "from_port": 65536, "to_port": 22}, 400),
    ({"ip_protocol": "tcp", "from_port": 22, "to_port": 70000}, 400),
    ({"ip_protocol": "tempest-999", "from_port": 22, "to_port": 22}, 400),
    ({"ip_protocol": "icmp", "from_port": 256, "to_port": 0}, 400),
    ({"cidr": "10.0.0.0/8"}, 400),
    ({"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "1.2.3.4/0"}, 400),
], ids=["reversed", "from-too-high", "to-too-high", "protocol", "icmp-type", "no-protocol",
        "bad-prefix"])
def test_rules_nova_refuses(api: ApiClient, rule: dict[str, Any], code: int) -> None:
    group = create_group(api, "g")
    assert api.call("alice", "POST", "/os-security-group-rules", {
        "security_group_rule": {"parent_group_id": group["id"], **rule}})[0] == code


def test_rules_of_missing_or_malformed_groups(api: ApiClient) -> None:
    rule = {"ip_protocol": "tcp", "from_port": 22, "to_port": 22}
    assert api.call("alice", "POST", "/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": str(uuidlib.UUID(int=9)), **rule}})[0] == 404
    assert api.call("alice", "POST", "/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": "non_int_id", **rule}})[0] == 400


def test_the_proxy_is_gone_from_2_36(api: ApiClient) -> None:
    assert api.call("alice", "GET", "/os-security-groups", version="2.35")[0] == 200
    assert api.call("alice", "GET", "/os-security-groups", version="2.36")[0] == 404
    assert api.call("alice", "POST", "/os-security-group-rules", {}, version="2.36")[0] == 404


def test_a_servers_groups_follow_its_ports(api: ApiClient) -> None:
    status, body = boot(api, [{"uuid": network(api)}])
    assert status == 202, body
    server = body["server"]["id"]
    assert body["server"]["security_groups"] == [{"name": "default"}]
    web = create_group(api, "web")
    status, body = api.call("alice", "POST", f"/servers/{server}/action",
                            {"addSecurityGroup": {"name": "web"}})
    assert status == 202, body
    status, body = api.call("alice", "GET", f"/servers/{server}")
    check("v2_1.servers", "get_server", status, body)
    assert body["server"]["security_groups"] == [{"name": "default"}, {"name": "web"}]
    status, body = api.call("alice", "GET", f"/servers/{server}/os-security-groups")
    check("v2_1.security_groups", "list_security_groups", status, body)
    assert [g["name"] for g in body["security_groups"]] == ["default", "web"]
    assert web["id"] in {g["id"] for g in body["security_groups"]}
    status, body = api.call("alice", "GET", "/servers/detail")
    check("v2_1.servers", "list_servers_detail", status, body)
    assert body["servers"][0]["security_groups"] == [{"name": "default"}, {"name": "web"}]
    for name in ("default", web["id"]):  # by name or by id
        assert api.call("alice", "POST", f"/servers/{server}/action",
                        {"removeSecurityGroup": {"name": name}})[0] == 202
    status, body = api.call("alice", "GET", f"/servers/{server}")
    check("v2_1.servers", "get_server", status, body)
    assert "security_groups" not in body["server"]
    assert api.call("alice", "POST", f"/servers/{server}/action",
                    {"removeSecurityGroup": {"name": "web"}})[0] == 404


@pytest.mark.parametrize(("action", "code"), [
    ({"addSecurityGroup": {"name": "nowhere"}}, 404),
    ({"addSecurityGroup": {"name": " "}}, 400),
    ({"addSecurityGroup": {}}, 400),
    ({"removeSecurityGroup": None}, 400),
])
def test_actions_refused_as_nova_refuses_them(api: ApiClient, action: dict[str, Any],
                                              code: int) -> None:
    server = boot(api, [{"uuid": network(api)}])[1]["server"]["id"]
    assert api.call("alice", "POST", f"/servers/{server}/action", action)[0] == code
    missing = uuidlib.UUID(int=99)
    assert api.call("alice", "POST", f"/servers/{missing}/action", action)[0] in (400, 404)


def test_a_server_without_service_ports_has_no_groups(api: ApiClient) -> None:
    status, body = boot(api, "none")
    assert status == 202 and "security_groups" not in body["server"]
    server = body["server"]["id"]
    status, body = api.call("alice", "GET", f"/servers/{server}")
    check("v2_1.servers", "get_server", status, body)
    assert "security_groups" not in body["server"]
    assert api.call("alice", "POST", f"/servers/{server}/action",
                    {"addSecurityGroup": {"name": "default"}})[0] == 404
    assert api.call("alice", "GET", f"/servers/{server}/os-security-groups")[1] == {
        "security_groups": []}


def test_a_create_naming_an_unknown_group_is_refused(api: ApiClient) -> None:
    status, body = boot(api, [{"uuid": network(api)}],
                        security_groups=[{"name": "does_not_exist"}])
    assert status == 400, body
