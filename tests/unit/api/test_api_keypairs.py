"""os-keypairs against a real SQLite API database, bodies checked against
Tempest's schemas at the microversions where they change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.unit.api.apiapp import ApiClient, api_client, check


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    with api_client(tmp_path) as (client, _):
        yield client


def test_a_generated_keypair_at_2_1_has_nova_s_bodies_and_a_usable_private_key(
        api: ApiClient) -> None:
    status, made = api.call("alice", "POST", "/os-keypairs", {"keypair": {"name": "k1"}})
    check("v2_1.keypairs", "create_keypair", status, made)
    private = serialization.load_pem_private_key(made["keypair"]["private_key"].encode(), None)
    assert made["keypair"]["public_key"].startswith("ssh-rsa ")
    assert private.public_key().public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() in \
        made["keypair"]["public_key"]
    status, shown = api.call("alice", "GET", "/os-keypairs/k1")
    check("v2_1.keypairs", "get_keypair", status, shown)
    assert shown["keypair"]["fingerprint"] == made["keypair"]["fingerprint"]
    status, listed = api.call("alice", "GET", "/os-keypairs")
    check("v2_1.keypairs", "list_keypairs", status, listed)
    status, _ = api.call("alice", "DELETE", "/os-keypairs/k1")
    check("v2_1.keypairs", "delete_keypair", status, None)
    assert api.call("alice", "GET", "/os-keypairs/k1")[0] == 404


def test_from_2_2_keypairs_have_a_type_and_create_is_201(api: ApiClient) -> None:
    status, made = api.call("alice", "POST", "/os-keypairs",
                            {"keypair": {"name": "cert", "type": "x509"}}, "2.2")
    check("v2_2.keypairs", "create_keypair", status, made)
    assert made["keypair"]["type"] == "x509"
    check("v2_2.keypairs", "get_keypair", *api.call("alice", "GET", "/os-keypairs/cert", None,
                                                    "2.2"))
    check("v2_2.keypairs", "list_keypairs", *api.call("alice", "GET", "/os-keypairs", None,
                                                      "2.2"))
    assert api.call("alice", "DELETE", "/os-keypairs/cert", None, "2.2")[0] == 204


def test_an_imported_key_keeps_its_fingerprint_and_a_bad_one_is_400(api: ApiClient) -> None:
    _, made = api.call("alice", "POST", "/os-keypairs", {"keypair": {"name": "gen"}})
    public = made["keypair"]["public_key"]
    status, imported = api.call("alice", "POST", "/os-keypairs",
                                {"keypair": {"name": "imp", "public_key": public}}, "2.92")
    check("v2_2.keypairs", "create_keypair", status, imported)
    assert "private_key" not in imported["keypair"]
    assert imported["keypair"]["fingerprint"] == made["keypair"]["fingerprint"]
    bad = api.call("alice", "POST", "/os-keypairs",
                   {"keypair": {"name": "bad", "public_key": "ssh-rsa nonsense"}})
    assert bad[0] == 400


@pytest.mark.parametrize(("body", "version", "code"), [
    ({"name": "k@x"}, "2.1", 400),
    ({"name": "k@x", "public_key": "ssh-rsa AAAA"}, "2.92", 400),  # a name, but no key
    ({"name": "nokey"}, "2.92", 400),
    ({"name": "t", "type": "pgp"}, "2.2", 400),
    ({"name": ""}, "2.1", 400),
], ids=["unsafe-name", "bad-key-292", "no-generation-292", "bad-type", "empty-name"])
def test_refused_creates(api: ApiClient, body: dict[str, str], version: str, code: int) -> None:
    assert api.call("alice", "POST", "/os-keypairs", {"keypair": body}, version)[0] == code


def test_a_duplicate_name_is_409_and_keypairs_are_per_user(api: ApiClient) -> None:
    assert api.call("alice", "POST", "/os-keypairs", {"keypair": {"name": "k"}})[0] == 200
    assert api.call("alice", "POST", "/os-keypairs", {"keypair": {"name": "k"}})[0] == 409
    assert api.call("bob", "POST", "/os-keypairs", {"keypair": {"name": "k"}})[0] == 200
    assert api.call("bob", "GET", "/os-keypairs")[1]["keypairs"][0]["keypair"]["name"] == "k"
    assert api.call("bob", "DELETE", "/os-keypairs/k")[0] == 202
    assert api.call("alice", "GET", "/os-keypairs/k")[0] == 200


def test_admins_name_a_user_from_2_10_members_cannot(api: ApiClient) -> None:
    api.call("alice", "POST", "/os-keypairs", {"keypair": {"name": "a"}})
    assert api.call("root", "GET", "/os-keypairs/a?user_id=u-alice", None, "2.10")[0] == 200
    assert api.call("root", "GET", "/os-keypairs/a?user_id=u-alice", None, "2.9")[0] == 404
    assert api.call("bob", "GET", "/os-keypairs/a?user_id=u-alice", None, "2.10")[0] == 403
    status, made = api.call("root", "POST", "/os-keypairs",
                            {"keypair": {"name": "for-bob", "user_id": "u-bob"}}, "2.10")
    assert status == 201 and made["keypair"]["user_id"] == "u-bob"
    assert api.call("bob", "GET", "/os-keypairs/for-bob")[0] == 200


def test_from_2_35_lists_page_by_name(api: ApiClient) -> None:
    for name in ("c", "a", "b"):
        api.call("alice", "POST", "/os-keypairs", {"keypair": {"name": name}})
    _, first = api.call("alice", "GET", "/os-keypairs?limit=2", None, "2.35")
    assert [k["keypair"]["name"] for k in first["keypairs"]] == ["a", "b"]
    assert "marker=b" in first["keypairs_links"][0]["href"]
    _, rest = api.call("alice", "GET", "/os-keypairs?limit=2&marker=b", None, "2.35")
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == ["c"]
    assert len(api.call("alice", "GET", "/os-keypairs?limit=2", None, "2.34")[1]["keypairs"]) == 3


def test_the_key_pairs_quota_is_a_403(tmp_path: Path) -> None:
    with api_client(tmp_path) as (api, _):
        assert api.call("root", "PUT", "/os-quota-sets/shop",
                        {"quota_set": {"key_pairs": 1}})[0] == 200
        assert api.call("alice", "POST", "/os-keypairs", {"keypair": {"name": "1"}})[0] == 200
        status, body = api.call("alice", "POST", "/os-keypairs", {"keypair": {"name": "2"}})
        assert status == 403
        assert body == {"forbidden": {"code": 403,
                                      "message": "Quota exceeded, too many key pairs."}}


def test_a_server_booted_with_a_key_name_keeps_it(tmp_path: Path) -> None:
    with api_client(tmp_path) as (api, top):
        api.call("alice", "POST", "/os-keypairs", {"keypair": {"name": "mine"}})
        server = {"server": {"name": "s", "flavorRef": "small", "networks": "none"}}
        bad = {"server": {**server["server"], "key_name": "not-mine"}}
        assert api.call("alice", "POST", "/servers", bad, "2.37")[0] == 400
        assert top.client.boots == 0
        good = {"server": {**server["server"], "key_name": "mine"}}
        status, made = api.call("alice", "POST", "/servers", good, "2.37")
        assert status == 202
        # With the instance (tests.unit.api.test_api_server_key_names), not the database.
        assert top.client.instances[made["server"]["id"]].attributes.key_name == "mine"
