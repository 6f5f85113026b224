"""The API's own database through unmodified clients: keypairs, flavors made by
an admin, and quotas, with openstacksdk against a tree
with its API (one tree for the module)."""

from __future__ import annotations

from collections.abc import Iterator

import openstack.exceptions
import pytest

from cellops.tree import TreeRunner
from tests.integration.openstack_tree import IMAGE_ID, Raw, sdk, start_api_tree


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    runner = start_api_tree(tmp_path_factory.mktemp("api-db-tree"))
    yield runner
    runner.stop()


def test_keypairs_through_the_sdk(tree: TreeRunner) -> None:
    conn = sdk(tree, "alice")
    made = conn.compute.create_keypair(name="alice-key")
    assert made.private_key and made.public_key.startswith("ssh-rsa ")
    assert [k.name for k in conn.compute.keypairs()] == ["alice-key"]
    assert conn.compute.get_keypair("alice-key").fingerprint == made.fingerprint
    assert list(sdk(tree, "bob").compute.keypairs()) == []  # per user
    server = conn.compute.create_server(name="keyed", flavor_id="small", image_id=IMAGE_ID,
                                        networks="none", key_name="alice-key")
    conn.compute.wait_for_server(server, wait=60)
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=60)  # the quota test counts shop's servers
    conn.compute.delete_keypair("alice-key")
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.compute.get_keypair("alice-key")


def test_an_admin_makes_a_flavor_and_a_member_cannot(tree: TreeRunner) -> None:
    admin = sdk(tree)
    flavor = admin.compute.create_flavor(name="medium", ram=1024, vcpus=2, disk=5,
                                         id="medium")
    assert (flavor.name, flavor.ram, flavor.vcpus) == ("medium", 1024, 2)
    admin.compute.create_flavor_extra_specs(flavor, {"hw:cpu_policy": "shared"})
    assert admin.compute.fetch_flavor_extra_specs(flavor).extra_specs == {
        "hw:cpu_policy": "shared"}
    with pytest.raises(openstack.exceptions.ForbiddenException):
        sdk(tree, "alice").compute.create_flavor(name="mine", ram=1, vcpus=1, disk=1)
    admin.compute.delete_flavor(flavor)


def test_quotas_show_update_and_hold_creates(tree: TreeRunner) -> None:
    # The SDK, not the CLI: `openstack quota show` looks the project up in
    # Keystone's /v3/projects, which this API's identity subset has not.
    admin = sdk(tree)
    assert admin.compute.get_quota_set("shop").instances == 10
    admin.compute.update_quota_set("shop", instances=1)
    assert admin.compute.get_quota_set("shop").instances == 1
    alice = sdk(tree, "alice")
    first = alice.compute.create_server(name="q1", flavor_id="small", image_id=IMAGE_ID,
                                        networks="none")
    with pytest.raises(openstack.exceptions.ForbiddenException) as refused:
        alice.compute.create_server(name="q2", flavor_id="small", image_id=IMAGE_ID,
                                    networks="none")
    assert ("Quota exceeded for instances: Requested 1, but already used 1 of 1 instances"
            in str(refused.value))
    assert admin.compute.get_quota_set("shop", usage=True).usage["instances"] == 1
    limits = Raw(tree, "alice").call("GET", "/v2.1/limits").json()["limits"]["absolute"]
    assert limits["maxTotalInstances"] == 1 and limits["totalInstancesUsed"] == 1
    alice.compute.delete_server(first)
    alice.compute.wait_for_delete(first, wait=60)
    assert Raw(tree).call("DELETE", "/v2.1/os-quota-sets/shop").status_code == 202
