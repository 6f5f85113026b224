"""What a boot may plug in is decided in the tree (issue 22): images and
networks are named by id from the tree's [[images]] and [[networks]]; the top
checks a member's names, and the libvirt leaf turns them into a file of its
image directory and a bridge. No caller names a path or a bridge.

One tree for the module: TLS with tokens, a top and a libvirt leaf (libvirt's
test driver, with real files for the guests' disks).
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from cellops.tree import TreeRunner
from cells.security.auth import TokenStore
from cellwire.client import CellClient, boot_spec
from model.catalog import port_mac
from model.cells import ListQuery
from model.compute import Port
from model.errors import InvalidArgument
from tests.integration.conftest import start_tree

TREE = """
[tree]
tls = true
tokens = true
report_interval = 0.2
down_after = 3

[[images]]
name = "debian-12"
id = "11111111-2222-4333-8444-555555555555"
source = "debian.img"

[[networks]]
name = "prod"
source = "br-prod"
cidr = "10.0.0.0/24"

[[networks]]
name = "lab"
source = "br-lab"
project = "lab"

[cells.top]
[cells.z1]
parent = "top"
driver = "libvirt"
images_dir = "{images}"
hosts = [{{ name = "h1", vcpus = 64, memory_mb = 65536, disk_gb = 1000 }}]
"""
DEBIAN = "11111111-2222-4333-8444-555555555555"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeRunner]:
    tmp = tmp_path_factory.mktemp("catalog")
    images = tmp / "images"
    images.mkdir()
    (images / "debian.img").write_bytes(b"\0" * 4096)
    (tmp / "secret").write_text("not an image\n")
    runner = start_tree(tmp, TREE.format(images=images))
    yield runner
    runner.stop()


def member(tree: TreeRunner, project: str) -> CellClient:
    assert tree.tokens_file is not None
    token, _ = TokenStore(tree.tokens_file).issue(project, "member", f"{project} user")
    return tree.client(timeout=10, token=token)


def count(tree: TreeRunner) -> int:
    with tree.client(timeout=10) as admin:
        return len(admin.list(ListQuery(limit=1000)).instances)


def guests(tree: TreeRunner) -> Path:
    return tree.state_dir / "z1" / "guests"


def test_a_member_boots_a_declared_image_on_its_network_with_the_trees_mac(
        tree: TreeRunner) -> None:
    with member(tree, "acme") as acme:
        vm = acme.boot(boot_spec("web", 1, 256, image=DEBIAN, ports=[
            Port("prod", "52:54:00:00:00:01", "10.0.0.5")]))
    assert vm.image == DEBIAN  # by id: the file is the leaf's business
    (port,) = vm.ports
    assert (port.network, port.ip) == ("prod", "10.0.0.5")
    # The MAC is the tree's, not the caller's: no member spoofs another's.
    assert port.mac == port_mac("acme", vm.request_id, 0) != "52:54:00:00:00:01"
    # The leaf made the guest's own copy of the catalog's file.
    assert (guests(tree) / f"{vm.uuid}.img").read_bytes() == b"\0" * 4096


@pytest.mark.parametrize("image", [
    "/etc/passwd", "debian.img", "../secret", "guests/{other}.img", "debian-13",
], ids=["absolute-path", "the-source-itself", "dot-dot", "another-guests-disk", "undeclared"])
def test_a_member_cannot_name_a_path_or_an_undeclared_image(tree: TreeRunner,
                                                            image: str) -> None:
    with tree.client(timeout=10) as admin:
        other = admin.boot(boot_spec("other", 1, 256, image=DEBIAN))
    before = count(tree)
    with member(tree, "acme") as acme, pytest.raises(
            InvalidArgument, match="is not one this cloud offers"):
        acme.boot(boot_spec("sneaky", 1, 256, image=image.format(other=other.uuid)))
    assert count(tree) == before


@pytest.mark.parametrize(("network", "needle"), [
    ("br-prod", "'br-prod' is not one project acme may use"),   # a bridge, not a network
    ("lab", "'lab' is not one project acme may use"),            # another project's
    ("mgmt", "'mgmt' is not one project acme may use"),          # not declared
], ids=["bridge-name", "another-projects", "undeclared"])
def test_a_member_plugs_only_into_its_projects_networks(tree: TreeRunner, network: str,
                                                        needle: str) -> None:
    before = count(tree)
    with member(tree, "acme") as acme, pytest.raises(InvalidArgument, match=needle):
        acme.boot(boot_spec("sneaky", 1, 256, ports=[Port(network, "52:54:00:00:00:02")]))
    assert count(tree) == before
    with member(tree, "lab") as lab:  # the network's own project may
        assert lab.boot(boot_spec("ok", 1, 256, ports=[Port("lab", "52:54:00:00:00:02")]))


def test_a_fixed_ip_outside_the_network_is_refused(tree: TreeRunner) -> None:
    with member(tree, "acme") as acme, pytest.raises(InvalidArgument,
                                                       match="not in network prod"):
        acme.boot(boot_spec("sneaky", 1, 256, ports=[Port("prod", "52:54:00:00:00:03",
                                                          "192.168.1.1")]))


def test_even_an_admin_names_only_what_the_leaf_has(tree: TreeRunner) -> None:
    """The leaf never opens a path a caller supplied, whoever the caller is."""
    before = count(tree)
    with tree.client(timeout=10) as admin:
        for image in ("/etc/passwd", f"guests/{uuidlib.uuid4()}.img"):
            with pytest.raises(InvalidArgument, match="is not one this cell has"):
                admin.boot(boot_spec("sneaky", 1, 256, image=image))
        with pytest.raises(InvalidArgument, match="'br-other' is not one this cell has"):
            admin.boot(boot_spec("sneaky", 1, 256, ports=[Port("br-other",
                                                                "52:54:00:00:00:04")]))
    assert count(tree) == before
