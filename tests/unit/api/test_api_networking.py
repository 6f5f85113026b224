"""The Networking API's bodies, codes and errors as Neutron writes them, over
HTTP against the API in-process (tokens issued by the app's own issuer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from api.identity.users import UserStore
from api.state import STATE
from tests.unit.api.apiapp import USERS, make_app
from tests.unit.api.identity.helpers import serving

V2 = "/networking/v2.0"


class Neutron:
    """Requests to the served app as alice (shop), bob (lab) or root (admin)."""

    def __init__(self, base: str, app: Any) -> None:
        self.base, self.app = base, app

    def __call__(self, user: str | None, method: str, path: str, body: Any = None
                 ) -> tuple[int, Any]:
        headers = {}
        if user is not None:
            headers["X-Auth-Token"] = self.app[STATE].issuer.issue(USERS[user])[0]
        reply = requests.request(method, f"{self.base}{path}", json=body, headers=headers,
                                 timeout=30)
        return reply.status_code, (reply.json() if reply.text else None)


@pytest.fixture
def neutron(tmp_path: Path) -> Iterator[Neutron]:
    app, _ = make_app(tmp_path)
    with serving(app) as base:
        yield Neutron(base, app)


def make(neutron: Neutron, user: str, kind: str, **fields: Any) -> dict[str, Any]:
    status, body = neutron(user, "POST", f"{V2}/{kind}s", {kind: fields})
    assert status == 201, body
    made: dict[str, Any] = body[kind]
    return made


def error(body: Any) -> tuple[str, str]:
    assert set(body) == {"NeutronError"} and body["NeutronError"]["detail"] == ""
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def test_version_discovery_needs_no_token(neutron: Neutron) -> None:
    for path in ("/networking", "/networking/"):
        status, body = neutron(None, "GET", path)
        assert status == 200
        [version] = body["versions"]
        assert version["id"] == "v2.0" and version["status"] == "CURRENT"
        assert version["links"][0]["href"].endswith("/networking/v2.0/")
    status, body = neutron(None, "GET", f"{V2}/networks")
    assert status == 401


def test_extensions_list_only_what_is_served(neutron: Neutron) -> None:
    status, body = neutron("alice", "GET", f"{V2}/extensions")
    assert status == 200
    aliases = {e["alias"] for e in body["extensions"]}
    assert {"provider", "binding", "pagination", "sorting", "security-group"} <= aliases
    assert not aliases & {"router", "external-net", "quotas"}
    assert neutron("alice", "GET", f"{V2}/extensions/provider")[1]["extension"]["alias"] == \
        "provider"
    status, body = neutron("alice", "GET", f"{V2}/extensions/router")
    assert status == 404 and error(body)[0] == "ExtensionNotFound"


def test_the_catalog_names_neutron_at_networking(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    UserStore(tmp_path / "users.json").add("carol", "shop", "member", "carol-password")
    login = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "carol", "domain": {"id": "default"}, "password": "carol-password"}}},
        "scope": {"project": {"name": "shop", "domain": {"id": "default"}}}}}
    with serving(app) as base:
        reply = requests.post(f"{base}/identity/v3/auth/tokens", json=login, timeout=30)
    [network] = [s for s in reply.json()["token"]["catalog"] if s["type"] == "network"]
    assert network["name"] == "neutron"
    assert {e["url"] for e in network["endpoints"]} == {"http://127.0.0.1:8774/networking"}


def test_a_network_body_is_neutrons_with_provider_attributes_for_admins(
        neutron: Neutron) -> None:
    made = make(neutron, "alice", "network", name="web")
    assert made["tenant_id"] == made["project_id"] == "shop"
    assert (made["status"], made["shared"], made["admin_state_up"], made["subnets"]) == (
        "ACTIVE", False, True, [])
    assert "provider:network_type" not in made
    status, body = neutron("root", "GET", f"{V2}/networks/{made['id']}")
    assert status == 200
    assert (body["network"]["provider:network_type"],
            body["network"]["provider:segmentation_id"]) == ("vlan", 1)


def test_subnet_and_port_bodies(neutron: Neutron) -> None:
    net = make(neutron, "alice", "network", name="web")
    subnet = make(neutron, "alice", "subnet", network_id=net["id"], ip_version=4,
                  cidr="10.3.0.0/24", allocation_pools=[{"start": "10.3.0.10",
                                                         "end": "10.3.0.20"}],
                  dns_nameservers=["10.3.0.1"])
    assert subnet["allocation_pools"] == [{"start": "10.3.0.10", "end": "10.3.0.20"}]
    assert (subnet["gateway_ip"], subnet["dns_nameservers"]) == ("10.3.0.1", ["10.3.0.1"])
    port = make(neutron, "alice", "port", network_id=net["id"], device_owner="compute:nova",
                fixed_ips=[{"ip_address": "10.3.0.15"}])
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.3.0.15"}]
    assert "binding:host_id" not in port
    status, body = neutron("root", "PUT", f"{V2}/ports/{port['id']}",
                           {"port": {"binding:host_id": "h1", "status": "ACTIVE"}})
    assert status == 200
    assert (body["port"]["binding:host_id"], body["port"]["binding:vif_type"],
            body["port"]["status"]) == ("h1", "bridge", "ACTIVE")


@pytest.mark.parametrize(("method", "path", "body", "status", "kind"), [
    ("GET", "/networks/nope", None, 404, "NetworkNotFound"),
    ("DELETE", "/ports/nope", None, 404, "PortNotFound"),
    ("POST", "/networks", {"network": {"name": "x", "colour": "red"}}, 400, "HTTPBadRequest"),
    ("POST", "/networks", {"net": {}}, 400, "HTTPBadRequest"),
    ("POST", "/networks", {"network": {"shared": True}}, 403, "PolicyNotAuthorized"),
    ("POST", "/subnets", {"subnet": {"network_id": "nope", "cidr": "10.0.0.0/24"}}, 404,
     "NetworkNotFound"),
    ("GET", "/networks?colour=red", None, 400, "HTTPBadRequest"),
    ("GET", "/networks?limit=many", None, 400, "HTTPBadRequest"),
    ("GET", "/floatingips", None, 404, "HTTPNotFound"),
    ("PATCH", "/networks/nope", {}, 405, "HTTPMethodNotAllowed"),
], ids=["no-network", "no-port", "unknown-attribute", "no-resource-key", "member-shared",
        "subnet-no-network", "unknown-filter", "bad-limit", "no-route", "bad-method"])
def test_errors_are_neutrons(neutron: Neutron, method: str, path: str, body: Any,
                             status: int, kind: str) -> None:
    got, answer = neutron("alice", method, f"{V2}{path}", body)
    assert (got, error(answer)[0]) == (status, kind)


def test_a_body_over_the_limit_is_413_in_neutrons_body(neutron: Neutron) -> None:
    status, body = neutron("alice", "POST", f"{V2}/networks", {"network": {"name": "x" * 70000}})
    assert (status, error(body)[0]) == (413, "HTTPRequestEntityTooLarge")


def test_conflicts_are_409_in_neutrons_words(neutron: Neutron) -> None:
    net = make(neutron, "alice", "network", name="busy")
    subnet = make(neutron, "alice", "subnet", network_id=net["id"], ip_version=4,
                  cidr="10.4.0.0/30")
    port = make(neutron, "alice", "port", network_id=net["id"])
    status, body = neutron("alice", "POST", f"{V2}/ports", {"port": {"network_id": net["id"]}})
    assert (status, error(body)) == (409, ("IpAddressGenerationFailure",
                                           f"No more IP addresses available on network"
                                           f" {net['id']}."))
    status, body = neutron("alice", "DELETE", f"{V2}/networks/{net['id']}")
    assert (status, error(body)[0]) == (409, "NetworkInUse")
    status, body = neutron("alice", "DELETE", f"{V2}/subnets/{subnet['id']}")
    assert (status, error(body)[0]) == (409, "SubnetInUse")
    status, body = neutron("alice", "POST", f"{V2}/subnets", {"subnet": {
        "network_id": net["id"], "ip_version": 4, "cidr": "10.4.0.0/24"}})
    assert (status, error(body)[0]) == (400, "InvalidInput")
    assert neutron("alice", "DELETE", f"{V2}/ports/{port['id']}") == (204, None)
    assert neutron("alice", "DELETE", f"{V2}/networks/{net['id']}") == (204, None)


def test_lists_page_with_links_and_keep_only_the_fields_asked(neutron: Neutron) -> None:
    ids = sorted(make(neutron, "bob", "network", name=f"n{i}")["id"] for i in range(5))
    status, body = neutron("bob", "GET", f"{V2}/networks?limit=2&fields=id&fields=name")
    assert status == 200 and [n["id"] for n in body["networks"]] == ids[:2]
    assert all(set(n) == {"id", "name"} for n in body["networks"])
    [next_link] = body["networks_links"]
    assert next_link["rel"] == "next" and f"marker={ids[1]}" in next_link["href"]
    path = next_link["href"].split("8774", 1)[1]
    status, body = neutron("bob", "GET", path)
    assert [n["id"] for n in body["networks"]] == ids[2:4]
    assert {link["rel"] for link in body["networks_links"]} == {"next", "previous"}
    status, body = neutron("bob", "GET", f"{V2}/networks?sort_key=name&sort_dir=desc")
    assert [n["name"] for n in body["networks"]] == ["n4", "n3", "n2", "n1", "n0"]
    assert "networks_links" not in body


def test_a_member_neither_sees_nor_changes_another_projects_network(neutron: Neutron) -> None:
    hers = make(neutron, "alice", "network", name="shop-only")
    status, body = neutron("bob", "GET", f"{V2}/networks")
    assert status == 200 and hers["id"] not in {n["id"] for n in body["networks"]}
    for method, body_ in (("GET", None), ("PUT", {"network": {"name": "mine"}}),
                          ("DELETE", None)):
        status, answer = neutron("bob", method, f"{V2}/networks/{hers['id']}", body_)
        assert (status, error(answer)[0]) == (404, "NetworkNotFound")
    status, answer = neutron("bob", "POST", f"{V2}/ports", {"port": {"network_id": hers["id"]}})
    assert status == 404
    status, body = neutron("alice", "PUT", f"{V2}/networks/{hers['id']}",
                           {"network": {"name": "renamed", "admin_state_up": False}})
    assert status == 200 and (body["network"]["name"], body["network"]["admin_state_up"]) == (
        "renamed", False)
