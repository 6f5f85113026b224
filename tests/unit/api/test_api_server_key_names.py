"""A server's key_name: kept with the instance at its leaf (its attributes),
so a show or a list of a server booted since asks the API's database nothing;
only an instance booted before instances kept it (key_name None) is looked
up in `server_keys`. A rebuild from 2.54 changes it; deleting the key pair
does not (as Nova)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from api.db.keypairs import ServerKeys
from api.state import STATE
from model.catalog import Image
from tests.unit.api.apiapp import ApiClient, FakeTop, api_client

IMAGE = Image("11111111-2222-4333-8444-555555555555", "debian-12", "/img/debian.qcow2")


class CountingServerKeys(ServerKeys):
    """The API database's server_keys, recording the uuids each lookup asks for."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.asked: list[list[str]] = []

    def key_names(self, uuids: Sequence[str]) -> dict[str, str]:
        self.asked.append(list(uuids))
        return super().key_names(uuids)


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[tuple[ApiClient, FakeTop, CountingServerKeys]]:
    with api_client(tmp_path) as (api, top):
        ours = api.app[STATE]
        keys = CountingServerKeys(ours.db.engine)
        ours.db = replace(ours.db, server_keys=keys)
        ours.config = replace(ours.config, images=(IMAGE,))  # something to rebuild from
        assert api.call("alice", "POST", "/os-keypairs", {"keypair": {"name": "mine"}})[0] == 200
        yield api, top, keys


def _create(api: ApiClient, **extra: Any) -> str:
    body = {"server": {"name": "s", "flavorRef": "small", "networks": "none", **extra}}
    status, made = api.call("alice", "POST", "/servers", body, "2.37")
    assert status == 202, made
    return str(made["server"]["id"])


def _key_name(api: ApiClient, uuid: str) -> Any:
    status, body = api.call("alice", "GET", f"/servers/{uuid}", None, "2.37")
    assert status == 200
    return body["server"]["key_name"]


def test_a_new_server_keeps_its_key_name_and_shows_it_without_the_database(
        tree: tuple[ApiClient, FakeTop, CountingServerKeys]) -> None:
    api, top, keys = tree
    keyed, keyless = _create(api, key_name="mine"), _create(api)
    assert top.client.instances[keyed].attributes.key_name == "mine"
    assert top.client.instances[keyless].attributes.key_name == ""
    assert keys.key_names([keyed, keyless]) == {}  # nothing remembered in the API's database
    keys.asked.clear()
    assert (_key_name(api, keyed), _key_name(api, keyless)) == ("mine", None)
    _, listed = api.call("alice", "GET", "/servers/detail", None, "2.37")
    assert {s["id"]: s["key_name"] for s in listed["servers"]} == {keyed: "mine",
                                                                   keyless: None}
    assert keys.asked == []


def test_an_instance_that_does_not_keep_its_key_name_is_looked_up(
        tree: tuple[ApiClient, FakeTop, CountingServerKeys]) -> None:
    api, top, keys = tree
    old, new = _create(api), _create(api, key_name="mine")
    booted_before = top.client.instances[old]  # as one booted before instances kept it
    top.client.instances[old] = replace(
        booted_before, attributes=replace(booted_before.attributes, key_name=None))
    keys.remember(old, "earlier", "u-alice")
    keys.asked.clear()
    assert _key_name(api, old) == "earlier"
    _, listed = api.call("alice", "GET", "/servers/detail", None, "2.37")
    assert {s["id"]: s["key_name"] for s in listed["servers"]} == {old: "earlier", new: "mine"}
    assert keys.asked == [[old], [old]]  # the new server is never asked for


@pytest.mark.parametrize(("old", "rebuilt_with", "shown"), [
    (False, {"key_name": "other"}, "other"),
    (False, {"key_name": None}, None),
    (False, {}, "mine"),
    (True, {"key_name": "other"}, "other"),  # the instance's own wins over server_keys
    (True, {"key_name": None}, None),
], ids=["a-key", "null-unsets", "unchanged", "old-a-key", "old-null-unsets"])
def test_a_rebuild_from_2_54_changes_the_key_name(
        tree: tuple[ApiClient, FakeTop, CountingServerKeys], old: bool,
        rebuilt_with: dict[str, Any], shown: str | None) -> None:
    api, top, keys = tree
    assert api.call("alice", "POST", "/os-keypairs", {"keypair": {"name": "other"}})[0] == 200
    uuid = _create(api, key_name="mine")
    if old:
        was = top.client.instances[uuid]
        top.client.instances[uuid] = replace(was, attributes=replace(was.attributes,
                                                                     key_name=None))
        keys.remember(uuid, "mine", "u-alice")
    action = {"rebuild": {"imageRef": IMAGE.id, **rebuilt_with}}
    status, body = api.call("alice", "POST", f"/servers/{uuid}/action", action, "2.54")
    assert status == 202, body
    assert body["server"]["key_name"] == shown
    assert _key_name(api, uuid) == shown
    assert keys.key_names([uuid]) == ({uuid: "mine"} if old else {})  # not written


@pytest.mark.parametrize(("version", "name"), [("2.53", "mine"), ("2.54", "not-mine")])
def test_a_rebuild_key_name_before_2_54_or_not_the_callers_is_a_400(
        tree: tuple[ApiClient, FakeTop, CountingServerKeys], version: str, name: str) -> None:
    api, top, _ = tree
    uuid = _create(api)
    action = {"rebuild": {"imageRef": IMAGE.id, "key_name": name}}
    assert api.call("alice", "POST", f"/servers/{uuid}/action", action, version)[0] == 400
    assert top.client.instances[uuid].attributes.key_name == ""


def test_deleting_the_key_pair_leaves_the_servers_key_name(
        tree: tuple[ApiClient, FakeTop, CountingServerKeys]) -> None:
    api, _, _ = tree
    uuid = _create(api, key_name="mine")
    assert api.call("alice", "DELETE", "/os-keypairs/mine")[0] == 202
    assert _key_name(api, uuid) == "mine"
