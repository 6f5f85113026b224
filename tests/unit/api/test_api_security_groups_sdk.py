"""Security groups through the Networking API: openstacksdk's network proxy
makes, lists, pages, updates and deletes groups and rules, and gives ports
their groups; the codes and error types are Neutron's (raw requests). The
groups are kept and served only: no host enforces them yet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.api.test_api_networking import V2, Neutron, error, neutron  # noqa: F401
from tests.unit.api.test_api_networking_sdk import base, connect  # noqa: F401

openstack = pytest.importorskip("openstack", reason="openstacksdk is not installed")
exceptions = pytest.importorskip("openstack.exceptions")
OPENSTACK = str(Path(sys.executable).with_name("openstack"))


def test_groups_and_rules_made_listed_updated_and_deleted(base: str) -> None:  # noqa: F811
    conn: Any = connect(base, "alice")
    group = conn.network.create_security_group(name="web", description="the web tier")
    assert {(r["direction"], r["ethertype"]) for r in group.security_group_rules} == {
        ("egress", "IPv4"), ("egress", "IPv6")}
    names = {g.name for g in conn.network.security_groups()}
    assert {"default", "web"} <= names
    rule = conn.network.create_security_group_rule(
        security_group_id=group.id, direction="ingress", protocol="tcp",
        port_range_min=443, port_range_max=443, remote_ip_prefix="0.0.0.0/0")
    assert (rule.protocol, rule.port_range_min, rule.ether_type) == ("tcp", 443, "IPv4")
    with pytest.raises(exceptions.ConflictException, match="already exists"):
        conn.network.create_security_group_rule(
            security_group_id=group.id, direction="ingress", protocol="tcp",
            port_range_min=443, port_range_max=443, remote_ip_prefix="0.0.0.0/0")
    with pytest.raises(exceptions.BadRequestException):
        conn.network.create_security_group_rule(
            security_group_id=group.id, direction="ingress", protocol="tcp",
            port_range_min=444, port_range_max=443)
    listed = list(conn.network.security_group_rules(security_group_id=group.id,
                                                    direction="ingress"))
    assert [r.id for r in listed] == [rule.id]
    changed = conn.network.update_security_group(group, name="www", description="renamed")
    assert (changed.name, changed.description) == ("www", "renamed")
    assert conn.network.find_security_group("www").id == group.id
    conn.network.delete_security_group_rule(rule)
    conn.network.delete_security_group(group)
    with pytest.raises(exceptions.NotFoundException):
        conn.network.get_security_group(group.id)


def test_ports_have_groups_and_a_group_in_use_stays(base: str) -> None:  # noqa: F811
    conn: Any = connect(base, "bob")
    net = conn.network.create_network(name="sg-net")
    conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.3.0.0/24")
    default = conn.network.find_security_group("default", project_id=conn.current_project_id)
    plain = conn.network.create_port(network_id=net.id)
    assert plain.security_group_ids == [default.id]
    bare = conn.network.create_port(network_id=net.id, security_group_ids=[])
    assert bare.security_group_ids == []
    db = conn.network.create_security_group(name="db")
    updated = conn.network.update_port(bare, security_group_ids=[db.id, default.id])
    assert sorted(updated.security_group_ids) == sorted([db.id, default.id])
    with pytest.raises(exceptions.ConflictException, match="in use"):
        conn.network.delete_security_group(db)
    conn.network.update_port(bare, security_group_ids=[])
    conn.network.delete_security_group(db)
    for port in (plain, bare):
        conn.network.delete_port(port)
    conn.network.delete_network(net)


def test_lists_of_groups_page_and_filter(base: str) -> None:  # noqa: F811
    conn: Any = connect(base, "root")
    made = {conn.network.create_security_group(name=f"paged-{i}").id for i in range(5)}
    pages = list(conn.network.security_groups(limit=2, name=[f"paged-{i}" for i in range(5)]))
    assert {g.id for g in pages} == made
    for ident in made:
        conn.network.delete_security_group(ident)


def test_neutrons_codes_and_error_types(neutron: Neutron) -> None:  # noqa: F811
    status, body = neutron("alice", "GET", f"{V2}/security-groups")
    assert status == 200
    [default] = [g for g in body["security_groups"] if g["name"] == "default"]
    assert {"id", "name", "description", "tenant_id", "project_id", "security_group_rules",
            "created_at", "updated_at"} <= set(default)
    status, body = neutron("alice", "DELETE", f"{V2}/security-groups/{default['id']}")
    assert status == 409 and error(body)[0] == "SecurityGroupCannotRemoveDefault"
    status, body = neutron("alice", "POST", f"{V2}/security-groups",
                           {"security_group": {"name": "default"}})
    assert status == 409 and error(body)[0] == "SecurityGroupDefaultAlreadyExists"
    group = neutron("alice", "POST", f"{V2}/security-groups",
                    {"security_group": {"name": "g"}})[1]["security_group"]
    status, body = neutron("bob", "GET", f"{V2}/security-groups/{group['id']}")
    assert status == 404 and error(body)[0] == "SecurityGroupNotFound"
    status, body = neutron("alice", "POST", f"{V2}/security-group-rules", {
        "security_group_rule": {"security_group_id": group["id"], "direction": "ingress",
                                "protocol": "icmp", "port_range_max": 3}})
    assert status == 400 and error(body)[0] == "SecurityGroupMissingIcmpType"
    status, body = neutron("alice", "POST", f"{V2}/security-group-rules", {
        "security_group_rule": {"security_group_id": group["id"], "direction": "ingress",
                                "remote_group_id": group["id"], "remote_ip_prefix": "1.2.3.0/24"}})
    assert status == 400 and error(body)[0] == "SecurityGroupRemoteGroupAndRemoteIpPrefix"
    status, body = neutron("alice", "POST", f"{V2}/security-group-rules", {
        "security_group_rule": {"security_group_id": group["id"], "direction": "ingress",
                                "remote_group_id": group["id"]}})
    assert status == 201 and body["security_group_rule"]["remote_group_id"] == group["id"]
    status, body = neutron("alice", "GET", f"{V2}/security-group-rules/"
                           f"{body['security_group_rule']['id']}?fields=direction")
    assert (status, body) == (200, {"security_group_rule": {"direction": "ingress"}})
    resources = neutron("alice", "GET", V2)[1]["resources"]
    assert {"security_groups", "security_group_rules"} <= {r["collection"] for r in resources}


def openstack_cli(url: str, user: str, *args: str) -> Any:
    """`openstack ARGS... -f json` as `user` against the API at `url`."""
    project = {"alice": "shop", "bob": "lab", "root": "ops"}[user]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")} | {
        "OS_AUTH_URL": f"{url}/identity", "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": user, "OS_PASSWORD": f"{user}-password", "OS_PROJECT_NAME": project,
        "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_REGION_NAME": "RegionOne"}
    done = subprocess.run([OPENSTACK, *args, "-f", "json"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


@pytest.mark.skipif(not Path(OPENSTACK).exists(), reason="the openstack CLI is not installed")
def test_the_openstack_cli_makes_groups_and_rules(base: str) -> None:  # noqa: F811
    group = openstack_cli(base, "alice", "security", "group", "create", "cli-web",
                          "--description", "from the CLI")
    assert (group["name"], group["description"]) == ("cli-web", "from the CLI")
    rule = openstack_cli(base, "alice", "security", "group", "rule", "create", "--protocol",
                         "tcp", "--dst-port", "22", "cli-web")
    assert (rule["port_range_min"], rule["port_range_max"], rule["direction"]) == (
        22, 22, "ingress")
    listed = openstack_cli(base, "alice", "security", "group", "rule", "list", "cli-web")
    assert rule["id"] in {r["ID"] for r in listed}
    names = {g["Name"] for g in openstack_cli(base, "alice", "security", "group", "list")}
    assert {"default", "cli-web"} <= names
