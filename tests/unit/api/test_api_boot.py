"""Tests for api.compute.boot: a Nova create body as the tree's boot requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.compute.boot import boot_key, boot_specs
from api.config import ApiConfig
from api.errors import BadRequest
from api.identity.tokens import TokenInfo
from model.catalog import Image, Network, port_mac
from model.compute import Port, Resources

NOW = datetime(2026, 12, 2, tzinfo=UTC)
ALICE = TokenInfo("u1", "alice", "shop", "member", NOW, NOW, "audit")
IMAGE = Image("11111111-2222-4333-8444-555555555555", "debian-12", "/img/debian.qcow2",
              min_disk=10, min_ram=1024)
NETWORKS = (Network("prod", "br-prod", cidr="10.0.0.0/24"), Network("lab", "br-lab", "lab"))
CONFIG = ApiConfig(listen="x:1", top="y:2", images=(IMAGE,), networks=NETWORKS, flavors={
    "small": Resources(1, 2048, 20), "tiny": Resources(1, 512, 1)})


def specs(server: dict[str, Any], **extra: Any) -> Any:
    return boot_specs({"server": server, **extra}, CONFIG, ALICE, "req-1").specs


def key(server: dict[str, Any], **extra: Any) -> str:
    return boot_key("req-1", "shop", {"server": server, **extra})


def test_a_create_body_becomes_one_boot_in_the_callers_project() -> None:
    server = {"name": "web", "flavorRef": "small", "imageRef": IMAGE.id,
              "networks": [{"uuid": "prod", "fixed_ip": "10.0.0.9"}]}
    (spec,) = specs(server)
    assert (spec.name, spec.flavor, spec.image, spec.project, spec.request_id) == (
        "web", Resources(1, 2048, 20), IMAGE.id, "shop", key(server))
    # By id and name: only a leaf knows the file and the bridge.
    assert spec.ports == (Port("prod", port_mac("shop", key(server), 0), "10.0.0.9"),)


def test_the_boots_key_is_the_request_id_and_what_was_asked() -> None:
    one = {"name": "web", "flavorRef": "small"}
    assert key(one).startswith("req-1-") and key(one) == key(dict(one))
    assert key(one) != key({**one, "name": "other"})
    assert key(one) != boot_key("req-1", "lab", {"server": one})  # another project's


def test_flavor_and_image_may_be_links_and_the_image_may_come_from_a_bdm() -> None:
    (spec,) = specs({"name": "web", "flavorRef": "http://api/v2.1/flavors/small",
                     "imageRef": "", "block_device_mapping_v2": [
                         {"uuid": IMAGE.id, "boot_index": 0, "source_type": "image",
                          "destination_type": "local"}]})
    assert spec.image == IMAGE.id and spec.flavor.memory_mb == 2048


def test_macs_are_stable_for_a_request_and_differ_between_entries() -> None:
    assert port_mac("shop", "req-1", 0) == port_mac("shop", "req-1", 0)
    assert port_mac("shop", "req-1", 0) != port_mac("shop", "req-1", 1)
    assert port_mac("shop", "req-1", 0) != port_mac("lab", "req-1", 0)
    assert port_mac("shop", "req-1", 0).startswith("fa:16:3e:")


def test_many_servers_are_named_and_identified_one_by_one() -> None:
    server = {"name": "batch", "flavorRef": "small", "min_count": 2, "max_count": 3}
    boots = boot_specs({"server": server}, CONFIG, ALICE, "req-1")
    assert boots.min_count == 2
    assert [(s.name, s.request_id) for s in boots.specs] == [
        ("batch-1", f"{key(server)}-1"), ("batch-2", f"{key(server)}-2"),
        ("batch-3", f"{key(server)}-3")]


def test_hints_and_the_zone_reach_bestmatch() -> None:
    (spec,) = specs({"name": "w", "flavorRef": "small", "availability_zone": "eu:host1"},
                    **{"os:scheduler_hints": {"different_host": ["a", "b"], "group": "g"}})
    assert dict(spec.hints) == {"availability_zone": "eu", "different_host": "a,b",
                                "group": "shop:g"}  # a project's groups are its own


@pytest.mark.parametrize(("server", "needle"), [
    ({"name": "w", "flavorRef": "tiny", "imageRef": IMAGE.id}, "disk is too small"),
    ({"name": "w", "flavorRef": "small", "imageRef": "nope"}, "Image nope"),
    ({"name": "w"}, "flavorRef"),
    ({"flavorRef": "small"}, "name"),
    # Ports by id are the network service's (api.compute.ports takes them out first).
    ({"name": "w", "flavorRef": "small", "networks": [{"port": "p"}]}, "needs a 'uuid'"),
    ({"name": "w", "flavorRef": "small", "min_count": 3, "max_count": 2}, "min_count"),
    ({"name": "w", "flavorRef": "small", "min_count": True}, "min_count"),
    ({"name": "w", "flavorRef": "small", "block_device_mapping_v2": {}}, "list"),
    ({"name": "w", "flavorRef": "small", "min_count": "²"}, "min_count"),
    ({"name": "w", "flavorRef": "small", "networks": [{"uuid": "mgmt"}]}, "Network mgmt"),
    ({"name": "w", "flavorRef": "small", "networks": [{"uuid": "lab"}]}, "Network lab"),
    ({"name": "w", "flavorRef": "small", "networks": [{"uuid": "prod", "fixed_ip": "x"}]},
     "Invalid fixed IP"),
    ({"name": "w", "flavorRef": "small",
      "networks": [{"uuid": "prod", "fixed_ip": "10.9.0.1"}]}, "not in network prod"),
], ids=["image-needs-more-disk", "unknown-image", "no-flavor", "no-name", "port-ids",
        "min-over-max", "bool-count", "bdm-not-list", "unicode-digit", "unknown-network",
        "another-projects-network", "bad-ip", "ip-outside-cidr"])
def test_refusals_say_what_is_wrong(server: dict[str, Any], needle: str) -> None:
    with pytest.raises(BadRequest, match=needle):
        specs(server)
