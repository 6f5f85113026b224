"""Tests for model.catalog: what members may name, and what a leaf plugs in."""

from __future__ import annotations

import pytest

from model.catalog import Catalog, port_mac
from model.compute import BootSpec, Port, Resources
from model.errors import InvalidArgument

CATALOG = Catalog.from_tables(
    [{"name": "debian-12", "id": "img-1", "source": "debian.qcow2"},
     {"name": "cirros", "source": "images/cirros"}],
    [{"name": "prod", "source": "br-prod", "cidr": "10.0.0.0/24"},
     {"name": "lab", "source": "br-lab", "project": "lab"}])


def spec(image: str = "", *ports: Port, project: str = "acme") -> BootSpec:
    return BootSpec("", "req-1", "web", Resources(1, 256), image=image, ports=ports,
                    project=project)


def test_a_member_names_images_by_id_or_name_and_gets_the_trees_macs() -> None:
    asked = spec("debian-12", Port("prod", "52:54:00:00:00:01", "10.0.0.4"))
    given = CATALOG.member_boot(asked)
    assert given.image == "img-1"  # the name became the id
    assert given.ports == (Port("prod", port_mac("acme", "req-1", 0), "10.0.0.4"),)
    assert CATALOG.member_boot(asked) == given  # a retry asks for the very same ports


@pytest.mark.parametrize(("asked", "needle"), [
    (spec("debian.qcow2"), "image 'debian.qcow2' is not one this cloud offers"),
    (spec("/etc/passwd"), "image '/etc/passwd' is not one"),
    (spec("", Port("br-prod", "52:54:00:00:00:01")), "network 'br-prod' is not one project"),
    (spec("", Port("lab", "52:54:00:00:00:01")), "network 'lab' is not one project acme"),
    (spec("", Port("prod", "52:54:00:00:00:01", "10.1.0.1")), "not in network prod"),
    (spec("", Port("prod", "52:54:00:00:00:01", "ten")), "invalid fixed IP"),
], ids=["a-source", "a-path", "a-bridge", "another-projects-network", "ip-outside",
        "not-an-ip"])
def test_a_member_cannot_name_what_is_not_offered_to_it(asked: BootSpec, needle: str) -> None:
    with pytest.raises(InvalidArgument, match=needle):
        CATALOG.member_boot(asked)


def test_a_network_is_its_projects() -> None:
    given = CATALOG.member_boot(spec("", Port("lab", "52:54:00:00:00:01"), project="lab"))
    assert given.ports[0].network == "lab"


def test_a_leaf_fills_in_its_own_sources() -> None:
    resolved = CATALOG.resolve(spec("img-1", Port("prod", "fa:16:3e:00:00:01")))
    assert resolved.image_source == "debian.qcow2" and resolved.image == "img-1"
    assert resolved.ports[0].source == "br-prod" == resolved.ports[0].plugged_into


@pytest.mark.parametrize("asked", [
    spec("/etc/passwd"), spec("", Port("br-other", "fa:16:3e:00:00:01")),
], ids=["image", "network"])
def test_a_leaf_refuses_names_it_lacks(asked: BootSpec) -> None:
    with pytest.raises(InvalidArgument, match="is not one this cell has"):
        CATALOG.resolve(asked)


def test_a_leaf_without_a_catalog_takes_names_as_they_are_and_opens_nothing() -> None:
    resolved = Catalog().resolve(spec("/etc/passwd", Port("br-x", "fa:16:3e:00:00:01")))
    assert resolved.image_source == ""  # no source: never a caller's path
    assert resolved.ports[0].plugged_into == "br-x"


def test_a_bad_table_is_refused() -> None:
    with pytest.raises(KeyError):
        Catalog.from_tables([{"source": "x"}], [])
    with pytest.raises(ValueError):
        Catalog.from_tables([], [{"name": "n", "cidr": "10.0.0.0/33"}])


def test_a_port_of_the_network_service_is_the_apis_to_vouch_for() -> None:
    bound = Port("5b1e0c2a-0000-4000-8000-000000000001", "fa:16:3e:12:34:56", "192.168.7.3",
                 port_id="port-1")
    with pytest.raises(InvalidArgument, match="bound through the API"):
        CATALOG.member_boot(spec("", bound))
    assert CATALOG.member_boot(spec("", bound), bound_ports=True).ports == (bound,)


def test_a_leaf_plugs_a_service_port_into_its_networks_bridge_never_a_named_one() -> None:
    bound = Port("5b1e0c2a-0000-4000-8000-000000000001", "fa:16:3e:12:34:56", port_id="p1")
    resolved = CATALOG.resolve(spec("", bound), bridge_of=lambda net: f"brq{net[:11]}")
    assert resolved.ports[0].plugged_into == "brq5b1e0c2a-00"
