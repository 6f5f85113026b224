"""Tests for api.compute.views: the one mapping from instances to Nova servers.

These check values; which keys a body has at a microversion is checked against
Tempest's own schemas in test_api_shapes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.compute.shapes import Body
from api.compute.views import BY_STATUS, STATES, Names, ServerView
from api.microversion import MIN, Version
from model.catalog import Image
from model.compute import Instance, InstanceState, Port, Resources

IMAGE = Image("11111111-2222-4333-8444-555555555555", "debian-12", "/img/debian.qcow2")
FLAVORS = {"small": Resources(1, 2048, 20)}
WHEN = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)


def instance(state: InstanceState = InstanceState.ACTIVE, **kw: object) -> Instance:
    fields: dict[str, object] = dict(
        uuid="u-1", name="web", state=state, flavor=Resources(1, 2048, 20),
        image=IMAGE.id, ports=(Port("prod", "fa:16:3e:00:00:01", "10.0.0.1"),),
        host="h1", cell_path="top!eu!eu-a", project="shop", created_at=WHEN)
    return Instance(**(fields | kw))  # type: ignore[arg-type]


def view(version: Version = MIN, admin: bool = False) -> ServerView:
    return ServerView("http://api", version, admin,
                      Names.of(FLAVORS, (IMAGE,)))


@pytest.mark.parametrize(("state", "status", "vm_state", "power"), [
    (InstanceState.BUILDING, "BUILD", "building", 0),
    (InstanceState.ACTIVE, "ACTIVE", "active", 1),
    (InstanceState.PAUSED, "PAUSED", "paused", 3),
    (InstanceState.SUSPENDED, "SUSPENDED", "suspended", 7),
    (InstanceState.STOPPED, "SHUTOFF", "stopped", 4),
    (InstanceState.ERROR, "ERROR", "error", 0),
    (InstanceState.DELETED, "DELETED", "deleted", 0),
    (InstanceState.UNKNOWN, "UNKNOWN", None, 0),
], ids=lambda v: getattr(v, "name", None))
def test_each_state_reads_as_nova_writes_it(
        state: InstanceState, status: str, vm_state: str | None, power: int) -> None:
    body = view().detail(instance(state))
    assert (body["status"], body.get("OS-EXT-STS:vm_state"), body["OS-EXT-STS:power_state"]) == (
        status, vm_state, power)


def test_every_state_has_a_status_and_back() -> None:
    assert set(STATES) == set(InstanceState)
    assert {BY_STATUS[s[0]] for s in STATES.values()} == set(InstanceState)


def test_a_server_body_names_its_flavor_image_addresses_and_zone() -> None:
    body = view().detail(instance())
    assert body["flavor"]["id"] == "small" and body["image"]["id"] == IMAGE.id
    assert body["addresses"] == {"prod": [{"version": 4, "addr": "10.0.0.1",
                                           "OS-EXT-IPS:type": "fixed",
                                           "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}]}
    assert body["OS-EXT-AZ:availability_zone"] == "eu-a"
    assert body["tenant_id"] == "shop" and body["created"] == "2026-12-02T17:00:00Z"


def test_only_admins_see_the_host_and_nobody_the_cell_path() -> None:
    # Nova's schemas have no room for a key of ours: the dashboard's API says
    # where an instance is.
    assert "OS-EXT-SRV-ATTR:host" not in view().detail(instance())
    admin = view(admin=True).detail(instance(), Body.SHOW)
    assert admin["OS-EXT-SRV-ATTR:host"] == "h1"
    assert not [key for key in admin if key.startswith("cellrouter")]
    assert admin["hostId"] == view().detail(instance())["hostId"] != ""


def test_the_flavor_is_embedded_from_2_47_and_unknown_ones_are_custom() -> None:
    assert view(Version(2, 46)).detail(instance())["flavor"]["id"] == "small"
    body = view(Version(2, 47)).detail(instance(flavor=Resources(3, 3000, 3)))
    flavor = body["flavor"]
    assert (flavor["original_name"], flavor["vcpus"], flavor["ram"], flavor["disk"]) == (
        "custom", 3, 3000, 3)


def test_a_fault_is_shown_for_a_server_in_error() -> None:
    body = view().detail(instance(InstanceState.ERROR, fault="disk full on h1"))
    assert body["fault"]["message"] == "disk full on h1"


def test_an_image_no_longer_declared_is_shown_to_admins_only() -> None:
    retired = instance(image="golden-2025")
    assert view().detail(retired)["image"] == ""
    assert view(admin=True).detail(retired)["image"]["id"] == "golden-2025"

