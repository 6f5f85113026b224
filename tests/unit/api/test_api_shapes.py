"""Our compute bodies against Tempest's own response schemas, microversion by microversion.

The schemas (tempest.lib.api_schema.response.compute.v2_N, `additionalProperties:
false`) are the truth: Tempest refuses a body that does not match the schema of
the microversion it asked for. Each schema is picked as Tempest's clients pick it
(their `schema_versions_info`) and checked with Tempest's own validator (draft 4
and its format checker), at every microversion where a schema or our table
(api.compute.shapes) changes, and the one before.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from tempest.lib.api_schema.response.compute.v2_1 import servers as servers_v2_1
from tempest.lib.api_schema.response.compute.v2_1 import versions as versions_schema
from tempest.lib.common.jsonschema_validator import FORMAT_CHECKER, JSONSCHEMA_VALIDATOR
from tempest.lib.services.compute.flavors_client import FlavorsClient
from tempest.lib.services.compute.servers_client import ServersClient

from api.compute import versions
from api.compute.flavor_views import FlavorFacts, flavor_body
from api.compute.shapes import (
    FLAVOR_KEYS,
    PARTIAL_KEYS,
    SERVER_KEYS,
    Body,
    flavor_keys,
    server_keys,
)
from api.compute.views import Names, ServerView
from api.microversion import MAX, MIN, Version
from api.state import STATE
from model.catalog import Image
from model.compute import Attributes, Instance, InstanceState, Port, Resources

IMAGE = Image("11111111-2222-4333-8444-555555555555", "debian-12", "/img/debian.qcow2")
NAMES = Names.of({"small": Resources(1, 2048, 20)}, (IMAGE,))
WHEN = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
BASE = "http://api"


def _bounds(info: list[dict[str, Any]]) -> Iterator[Version]:
    for entry in info:
        yield from (Version.parse(entry[end]) for end in ("min", "max") if entry[end])


def _around(since: Version) -> set[Version]:
    return {since, Version(since.major, since.minor - 1)} - {Version(2, 0)}


VERSIONS = sorted({MIN, MAX, *_bounds(ServersClient.schema_versions_info),
                   *_bounds(FlavorsClient.schema_versions_info),
                   *(v for row in (*SERVER_KEYS, *FLAVOR_KEYS) for v in _around(row.since))})
ANYONE = [pytest.param(False, id="member"), pytest.param(True, id="admin")]


def schemas(info: list[dict[str, Any]], version: Version) -> ModuleType:
    """The schema module a Tempest client uses at `version`."""
    for entry in info:
        low = Version.parse(entry["min"]) if entry["min"] else MIN
        high = Version.parse(entry["max"]) if entry["max"] else MAX
        if low <= version <= high:
            module: ModuleType = entry["schema"]
            return module
    raise AssertionError(f"Tempest has no schema for {version}")


def validate(body: Any, schema: dict[str, Any]) -> None:
    """As Tempest's rest client validates (less its check of the schema itself)."""
    validator = JSONSCHEMA_VALIDATOR(schema["response_body"], format_checker=FORMAT_CHECKER)
    validator.validate(body)


_SERIAL = itertools.count(1)


def instance(state: InstanceState, **kw: Any) -> Instance:
    fields: dict[str, Any] = dict(
        uuid=f"00000000-0000-4000-8000-{next(_SERIAL):012d}", name="web 1",
        state=state, flavor=Resources(1, 2048, 20), image=IMAGE.id,
        ports=(Port("prod", "fa:16:3e:00:00:01", "10.0.0.1"),
               Port("v6-net", "fa:16:3e:00:00:02", "fd00::5")),
        host="h1", cell_path="top!eu!eu-a", project="shop", created_at=WHEN)
    return Instance(**(fields | kw))


# Every state, and the odd cases: a fault, no ports, no host, no image, an image
# no longer declared, a flavor no configured one matches, a key pair kept or none.
SERVERS = [instance(s, fault="disk full" if s is InstanceState.ERROR else "")
           for s in InstanceState] + [
    instance(InstanceState.BUILDING, ports=(), host="", image=""),
    instance(InstanceState.ACTIVE, image="golden-2025", flavor=Resources(3, 3000, 3)),
    instance(InstanceState.ACTIVE, attributes=Attributes(key_name="mine")),
    instance(InstanceState.ACTIVE, attributes=Attributes(key_name="")),
]


def view(version: Version, admin: bool) -> ServerView:
    return ServerView(BASE, version, admin, NAMES)


@pytest.mark.parametrize("admin", ANYONE)
@pytest.mark.parametrize("version", VERSIONS, ids=str)
def test_server_lists_are_tempests_at_each_microversion(version: Version, admin: bool) -> None:
    schema, shown = schemas(ServersClient.schema_versions_info, version), view(version, admin)
    validate({"servers": [shown.detail(s, Body.BRIEF) for s in SERVERS]}, schema.list_servers)
    validate({"servers": [shown.detail(s, Body.DETAIL) for s in SERVERS]},
             schema.list_servers_detail)


@pytest.mark.parametrize("admin", ANYONE)
@pytest.mark.parametrize("version", VERSIONS, ids=str)
@pytest.mark.parametrize(("body", "schema_name"), [
    (Body.SHOW, "get_server"), (Body.UPDATE, "update_server"),
    (Body.REBUILD, "rebuild_server"),
], ids=["show", "update", "rebuild"])
def test_a_server_in_every_state_is_tempests_at_each_microversion(
        version: Version, admin: bool, body: Body, schema_name: str) -> None:
    schema = getattr(schemas(ServersClient.schema_versions_info, version), schema_name)
    for server in SERVERS:
        validate({"server": view(version, admin).detail(server, body)}, schema)


def partial_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Tempest does not test down cells and has no schema for 2.69's partial
    entries: they are held to the show schema's types and keys, with `required`
    narrowed to what every partial entry has (the rest, such as `created`, only
    when the index above the cell knows it)."""
    item = dict(schema["response_body"]["properties"]["server"])
    return {"response_body": item | {"required": ["id", "links", "status"]}}


@pytest.mark.parametrize("version", [Version(2, 69), Version(2, 73), MAX], ids=str)
@pytest.mark.parametrize("body", [Body.BRIEF, Body.DETAIL, Body.SHOW], ids=lambda b: b.value)
def test_a_down_cells_partial_entry_is_novas(version: Version, body: Body) -> None:
    schema = partial_schema(schemas(ServersClient.schema_versions_info, version).get_server)
    for server in (instance(InstanceState.UNKNOWN, flavor=Resources()),
                   Instance("00000000-0000-4000-8000-000000000001", "", InstanceState.UNKNOWN,
                            Resources(), project="shop")):  # what a show's stub knows
        entry = view(version, admin=False).partial(server, body)
        validate(entry, schema)
        assert set(entry) <= PARTIAL_KEYS[body] and entry["status"] == "UNKNOWN"


@pytest.mark.parametrize("admin", ANYONE)
def test_the_create_answer_is_tempests(admin: bool) -> None:
    # Tempest checks a create against 2.1's schema whatever the microversion; the
    # one without adminPass, as the tree sets no guest password.
    answer = view(MAX, admin).created(SERVERS[0])
    validate({"server": answer}, servers_v2_1.create_server)


FLAVORS = [FlavorFacts.configured("small", Resources(1, 2048, 20)),
           FlavorFacts("f-1", "gpu.large", 8, 65536, 200, ephemeral=10, swap=1024,
                       is_public=False, description="with a GPU",
                       extra_specs={"resources:VGPU": "1", "hw:cpu_policy": "dedicated"})]


@pytest.mark.parametrize("version", VERSIONS, ids=str)
def test_flavors_are_tempests_at_each_microversion(version: Version) -> None:
    schema = schemas(FlavorsClient.schema_versions_info, version)
    validate({"flavors": [flavor_body(f, BASE, version, detail=False) for f in FLAVORS]},
             schema.list_flavors)
    validate({"flavors": [flavor_body(f, BASE, version) for f in FLAVORS]},
             schema.list_flavors_details)
    for flavor in FLAVORS:  # show, and an admin's create
        validate({"flavor": flavor_body(flavor, BASE, version)},
                 schema.create_update_get_flavor_details)


def _answer(handler: Any, path: str) -> Any:
    app = web.Application()
    app[STATE] = SimpleNamespace(config=SimpleNamespace(public_url=BASE))  # type: ignore[misc]
    response = asyncio.run(handler(make_mocked_request("GET", path, app=app)))
    return json.loads(response.text)


def test_the_version_list_is_tempests_with_v2_0_first() -> None:
    listed = _answer(versions.root, "/")
    validate(listed, versions_schema.list_versions)
    assert [v["id"] for v in listed["versions"]] == ["v2.0", "v2.1"]
    assert listed["versions"][1] | {"links": None} == {
        "id": "v2.1", "status": "CURRENT", "version": str(MAX), "min_version": str(MIN),
        "updated": "2013-07-23T11:33:21Z", "links": None}


@pytest.mark.parametrize(("handler", "path", "listed"), [
    (versions.v20, "/v2/", 0), (versions.v21, "/v2.1/", 1)], ids=["v2.0", "v2.1"])
def test_each_listed_versions_self_link_leads_to_its_document(
        handler: Any, path: str, listed: int) -> None:
    entry = _answer(versions.root, "/")["versions"][listed]
    (self_link,) = [link for link in entry["links"] if link["rel"] == "self"]
    assert self_link["href"] == f"{BASE}{path}"
    document = _answer(handler, path)
    validate(document, versions_schema.get_one_version)
    assert [link for link in document["version"]["links"] if link["rel"] == "self"] == [
        self_link]
    assert document["version"]["id"] == entry["id"]


@pytest.mark.parametrize("body", list(Body), ids=lambda b: b.value)
def test_the_table_stays_within_the_served_range_and_nova_s_names(body: Body) -> None:
    assert all(MIN <= row.since <= MAX for row in (*SERVER_KEYS, *FLAVOR_KEYS))
    for version in (MIN, MAX):
        keys = server_keys(version, body, admin=True) | flavor_keys(version, detail=True)
        assert not [key for key in keys if key.startswith("cellrouter")]
