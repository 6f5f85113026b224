"""Server list filters the API applies itself, a server's addresses and its
(empty) password: Nova's answers, and Tempest's schemas."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from model.compute import Port
from tests.unit.api.apiapp import ApiClient, api_client, check


@pytest.fixture
def api(tmp_path: Path) -> Any:
    with api_client(tmp_path) as (client, top):
        yield client, top


def _server(client: ApiClient, top: Any, name: str, ip: str) -> str:
    status, body = client.call("alice", "POST", "/servers", {"server": {
        "name": name, "flavorRef": "small", "networks": "none"}})
    assert status == 202, body
    uuid = str(body["server"]["id"])
    top.client.instances[uuid] = replace(top.client.instances[uuid],
                                         ports=(Port("prod", "fa:16:3e:00:00:01", ip),))
    return uuid


def _names(client: ApiClient, query: str, user: str = "alice", version: str = "2.1") -> Any:
    status, body = client.call(user, "GET", f"/servers{query}", version=version)
    return status, sorted(s["name"] for s in body["servers"]) if status == 200 else body


def test_filters_by_ip_change_time_status_and_host(api: Any) -> None:
    client, top = api
    _server(client, top, "a", "10.0.0.5")
    _server(client, top, "b", "10.0.0.15")
    assert _names(client, "?ip=10.0.0.1") == (200, ["b"])  # a regular expression, as Nova
    assert _names(client, "?changes-since=2051-01-01T12:34:00Z") == (200, [])
    assert _names(client, "?changes-since=2001-01-01T00:00:00Z") == (200, ["a", "b"])
    assert _names(client, "?changes-since=2011/01/01")[0] == 400
    assert _names(client, "?status=non_existing", version="2.37") == (200, [])
    assert _names(client, "?status=non_existing", version="2.38")[0] == 400
    assert _names(client, "?host=h1&all_tenants=1", user="root") == (200, ["a", "b"])
    assert _names(client, "?host=elsewhere&all_tenants=1", user="root") == (200, [])
    assert _names(client, "?host=elsewhere") == (200, ["a", "b"])  # a member's is ignored
    # An admin's tenant_id counts only with all_tenants, as in Nova.
    assert _names(client, "?tenant_id=shop", user="root") == (200, [])
    assert _names(client, "?tenant_id=shop&all_tenants=1", user="root") == (200, ["a", "b"])


def test_addresses_by_network_and_the_empty_password(api: Any) -> None:
    client, top = api
    uuid = _server(client, top, "a", "10.0.0.5")
    status, body = client.call("alice", "GET", f"/servers/{uuid}/ips")
    check("v2_1.servers", "list_addresses", status, body)
    assert body == {"addresses": {"prod": [{"version": 4, "addr": "10.0.0.5"}]}}
    status, body = client.call("alice", "GET", f"/servers/{uuid}/ips/prod")
    check("v2_1.servers", "list_addresses_by_network", status, body)
    assert client.call("alice", "GET", f"/servers/{uuid}/ips/other")[0] == 404
    status, body = client.call("alice", "GET", f"/servers/{uuid}/os-server-password")
    check("v2_1.servers", "show_password", status, body)
    assert body == {"password": ""}
    assert client.call("alice", "DELETE", f"/servers/{uuid}/os-server-password")[0] == 204
