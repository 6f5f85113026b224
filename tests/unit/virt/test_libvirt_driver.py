"""What only the libvirt driver does: domain XML, storage overlays, unreachable hosts."""

from __future__ import annotations

import uuid as uuidlib
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cellwire.client import boot_spec
from model.compute import Action, BootSpec, Port
from virt.errors import HypervisorUnavailable, InvalidSpec

libvirt_driver = pytest.importorskip("virt.libvirt_driver", reason="libvirt-python missing")
NS = {"cr": libvirt_driver.NS}


def spec(image_source: str = "", **kw: object) -> BootSpec:
    made = boot_spec("web", 2, 1024, 8, project="shop",  # type: ignore[arg-type]
                     ports=[Port("br-prod", "52:54:00:aa:00:01", "10.0.0.7")], **kw)
    return replace(made, uuid=str(uuidlib.uuid4()), image_source=image_source)


def test_domain_xml_carries_the_request_and_cellrouter_metadata() -> None:
    s = replace(spec(), target_cell="top!eu!eu-a")  # as a leaf hands it to its driver
    root = ET.fromstring(libvirt_driver.render_domain(s, "kvm", "network"))
    assert root.get("type") == "kvm"
    assert root.findtext("uuid") == s.uuid and root.findtext("vcpu") == "2"
    assert root.find("memory").get("unit") == "MiB" and root.findtext("memory") == "1024"
    assert root.find("os/type").get("arch") == "x86_64" and root.find("os/boot") is not None
    nic = root.find("devices/interface")
    assert nic.get("type") == "network" and nic.find("source").get("network") == "br-prod"
    assert nic.find("mac").get("address") == "52:54:00:aa:00:01"
    meta = root.find("metadata/cr:instance", NS)
    assert meta.findtext("cr:name", namespaces=NS) == "web"
    assert meta.findtext("cr:request-id", namespaces=NS) == s.request_id
    assert meta.findtext("cr:project", namespaces=NS) == "shop"
    assert meta.findtext("cr:cell-path", namespaces=NS) == "top!eu!eu-a"
    assert meta.find("cr:ports/cr:port", NS).get("ip") == "10.0.0.7"
    assert root.find("devices/disk") is None  # no image, no disk


def test_an_image_in_a_pool_gets_a_copy_on_write_overlay(tmp_path: Path) -> None:
    driver = libvirt_driver.from_config(
        {}, [{"name": "h1", "vcpus": 4, "memory_mb": 4096, "disk_gb": 50}], tmp_path)
    pool = driver.connection("h1").storagePoolLookupByName("images")
    pool.createXML("<volume><name>debian.raw</name><capacity unit='MiB'>64</capacity>"
                   "<target><format type='raw'/></target></volume>", 0)
    s = spec(image="debian", image_source="images/debian.raw")  # as the leaf resolves it
    driver.spawn(s, "h1")
    overlay = pool.storageVolLookupByName(f"cr-{s.uuid}.qcow2")
    described = ET.fromstring(overlay.XMLDesc(0))
    assert described.find("target/format").get("type") == "qcow2"
    assert described.findtext("backingStore/path").endswith("debian.raw")
    domain = ET.fromstring(driver.connection("h1").lookupByUUIDString(s.uuid).XMLDesc(0))
    source = domain.find("devices/disk/source")
    assert (source.get("pool"), source.get("volume")) == ("images", f"cr-{s.uuid}.qcow2")

    driver.act(s.uuid, Action.DELETE)
    assert sorted(pool.listVolumes()) == ["debian.raw"]  # the overlay went, the base stays
    driver.close()


def test_a_file_image_is_copied_for_each_guest(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "base.img").write_bytes(b"\0" * 4096)
    driver = libvirt_driver.from_config(
        {}, [{"name": "h1", "vcpus": 4, "memory_mb": 4096, "disk_gb": 50}], tmp_path)
    first, second = (spec(image="base", image_source="base.img") for _ in range(2))
    for s in (first, second):
        driver.spawn(s, "h1")
    copies = sorted(p.name for p in (tmp_path / "guests").glob("*.img"))
    assert copies == sorted([f"{first.uuid}.img", f"{second.uuid}.img"])
    driver.act(first.uuid, Action.DELETE)
    assert [p.name for p in (tmp_path / "guests").glob("*.img")] == [f"{second.uuid}.img"]
    driver.close()


@pytest.mark.parametrize("source", [
    "../cell.db", "/etc/passwd", "sub/../../guests/other.img", "link.img",
], ids=["dot-dot", "absolute-outside", "dot-dot-deeper", "symlink-out"])
def test_an_image_source_never_leads_out_of_the_image_directory(tmp_path: Path,
                                                                 source: str) -> None:
    """Even a catalog's source (an operator's typo, a planted symlink) cannot
    make a guest's disk of a file outside the image directory."""
    (tmp_path / "images").mkdir()
    (tmp_path / "cell.db").write_bytes(b"secret")
    (tmp_path / "images" / "link.img").symlink_to(tmp_path / "cell.db")
    driver = libvirt_driver.from_config(
        {}, [{"name": "h1", "vcpus": 4, "memory_mb": 4096, "disk_gb": 50}], tmp_path)
    with pytest.raises(InvalidSpec, match="leads out of the image directory"):
        driver.spawn(spec(image="x", image_source=source), "h1")
    assert driver.instances() == [] and not list((tmp_path / "guests").glob("*.img"))
    driver.close()


def test_a_missing_image_file_is_refused_on_a_real_hypervisor(tmp_path: Path) -> None:
    driver = libvirt_driver.from_config(
        {"domain_type": "qemu"}, [{"name": "h1", "vcpus": 4, "memory_mb": 4096, "disk_gb": 50}],
        tmp_path)
    with pytest.raises(InvalidSpec, match="not in the image directory"):
        driver.spawn(spec(image="x", image_source="gone.qcow2"), "h1")
    driver.close()


def test_an_unreachable_host_is_unavailable(tmp_path: Path) -> None:
    driver = libvirt_driver.from_config(
        {}, [{"name": "far", "uri": "qemu+tcp://127.0.0.1:1/system"}], tmp_path)
    with pytest.raises(HypervisorUnavailable, match="unreachable"):
        driver.hosts()


def test_a_domain_that_vanishes_while_the_hypervisor_is_listed_is_simply_gone(
    tmp_path: Path,
) -> None:
    """An operator's destroy between the listing and the reading of one domain
    (the race a lifecycle event's reconciliation runs into) loses only that one."""
    driver = libvirt_driver.from_config(
        {}, [{"name": "h1", "vcpus": 8, "memory_mb": 8192, "disk_gb": 50}], tmp_path)
    kept, doomed = spec(), spec()
    driver.spawn(kept, "h1")
    driver.spawn(doomed, "h1")
    conn = driver.connection("h1")
    listing = conn.listAllDomains

    class VanishesOnceDescribed:
        """The domain, destroyed and undefined right after its XML was read."""

        def __init__(self, dom: Any) -> None:
            self._dom = dom

        def XMLDesc(self, flags: int) -> str:
            described: str = self._dom.XMLDesc(flags)
            self._dom.destroy()
            self._dom.undefine()
            return described

        def __getattr__(self, name: str) -> Any:
            return getattr(self._dom, name)

    def list_then_lose_one(flags: int = 0) -> list[Any]:
        return [VanishesOnceDescribed(d) if d.UUIDString() == doomed.uuid else d
                for d in listing(flags)]

    conn.listAllDomains = list_then_lose_one
    try:
        assert [i.uuid for i in driver.instances()] == [kept.uuid]
    finally:
        del conn.listAllDomains
    assert [i.uuid for i in driver.instances()] == [kept.uuid]
    driver.close()
