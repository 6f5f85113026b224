"""Tests for api.compute.networks: the configured networks a caller may use, in
the body of Nova's os-networks. Tempest has no schema for it (it reads only id
and label); SCHEMA below is Nova's api-ref for the proxy: every field shown,
each a string or null but id and label (strings), mtu and vpn_public_port
(integers or null)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from api.app import build_app
from api.compute.networks import ADMIN_FIELDS, FIELDS, Shown, network_body
from api.config import ApiConfig
from api.identity.keys import KeyRepository
from model.catalog import Network
from tests.unit.api.apiapp import FLAVORS, ApiClient, FakeTop

NETWORKS = (Network("private", "br-private", cidr="10.0.0.0/24"),
            Network("shop-net", "br-shop", project="shop"),
            Network("lab-v6", "br-lab", project="lab", cidr="fd00::/64"))


def _schema(fields: tuple[str, ...]) -> dict[str, Any]:
    kinds = {"id": "string", "label": "string", "mtu": ["integer", "null"],
             "vpn_public_port": ["integer", "null"]}
    return {"type": "object", "required": list(fields), "additionalProperties": False,
            "properties": {f: {"type": kinds.get(f, ["string", "null"])} for f in fields}}


MEMBER_SCHEMA, ADMIN_SCHEMA = _schema(FIELDS), _schema(FIELDS + ADMIN_FIELDS)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    KeyRepository(tmp_path / "keys").init()
    config = ApiConfig(listen="127.0.0.1:8774", top="127.0.0.1:1",
                       users_file=tmp_path / "users.json", keys_dir=tmp_path / "keys",
                       flavors=FLAVORS, networks=NETWORKS)
    client = ApiClient(build_app(config, tree=FakeTop()))  # type: ignore[arg-type]
    try:
        yield client
    finally:
        client.close()


def test_a_member_sees_shared_networks_and_their_projects(api: ApiClient) -> None:
    status, body = api.call("alice", "GET", "/os-networks")
    assert status == 200
    for network in body["networks"]:
        jsonschema.Draft4Validator(MEMBER_SCHEMA).validate(network)
    assert [n["label"] for n in body["networks"]] == ["private", "shop-net"]


def test_an_admin_sees_every_network_with_its_project(api: ApiClient) -> None:
    status, body = api.call("root", "GET", "/os-networks")
    assert status == 200
    for network in body["networks"]:
        jsonschema.Draft4Validator(ADMIN_SCHEMA).validate(network)
    assert {n["id"]: n["project_id"] for n in body["networks"]} == {
        "private": None, "shop-net": "shop", "lab-v6": "lab"}


def test_show_is_the_listed_body_and_404_for_a_network_not_yours(api: ApiClient) -> None:
    status, body = api.call("alice", "GET", "/os-networks/private")
    assert status == 200
    jsonschema.Draft4Validator(MEMBER_SCHEMA).validate(body["network"])
    assert body["network"] == api.call("alice", "GET", "/os-networks")[1]["networks"][0]
    assert api.call("alice", "GET", "/os-networks/lab-v6")[0] == 404
    assert api.call("alice", "GET", "/os-networks/nowhere")[0] == 404
    assert api.call("bob", "GET", "/os-networks/lab-v6")[0] == 200


def test_the_proxy_is_gone_from_2_36(api: ApiClient) -> None:
    assert api.call("root", "GET", "/os-networks", version="2.35")[0] == 200
    assert api.call("root", "GET", "/os-networks", version="2.36")[0] == 404
    assert api.call("root", "GET", "/os-networks/private", version="2.36")[0] == 404


@pytest.mark.parametrize(("network", "known"), [
    (NETWORKS[0], {"cidr": "10.0.0.0/24", "netmask": "255.255.255.0"}),
    (NETWORKS[1], {}),
    (NETWORKS[2], {"cidr_v6": "fd00::/64", "netmask_v6": "64"}),
], ids=["v4", "no-cidr", "v6"])
def test_the_catalogs_cidr_is_given_and_nothing_else_is_made_up(network: Network,
                                                                known: dict[str, str]) -> None:
    body = network_body(Shown(network.name, network.name, network.cidr, network.project),
                        admin=False)
    assert {k: v for k, v in body.items() if v is not None} == {
        "id": network.name, "label": network.name, **known}
