"""The XML the libvirt driver writes and reads, built with ElementTree.

A domain's XML (`render_domain`) carries a <cellrouter:instance> metadata
element (name, request id, project, image, flavor, ports, creation time),
read back by `read_metadata`, so the leaf can rebuild its view from the
hypervisor alone. Also here: a copy-on-write overlay volume's XML, and a
test-driver node's.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import libvirt

from model.compute import BootSpec, Port, Resources

NS = "https://cellrouter.dev/xmlns/instance/1"
ET.register_namespace("cellrouter", NS)
_Q = f"{{{NS}}}"


@dataclass(frozen=True, slots=True)
class Meta:
    """What a domain's metadata element says of the instance."""

    name: str
    request_id: str = ""
    project: str = ""
    image: str = ""
    image_source: str = ""
    flavor: Resources = field(default_factory=Resources)
    ports: tuple[Port, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Disk:
    """A guest's disk: a file, or a volume in a storage pool."""

    format: str
    path: str = ""
    pool: str = ""
    volume: str = ""


# ---------------------------------------------------------------- domains

def render_domain(spec: BootSpec, domain_type: str, interface_type: str = "bridge",
                  disk: Disk | None = None, console: Path | None = None) -> str:
    """The domain XML for `spec`."""
    domain = ET.Element("domain", type=domain_type)
    ET.SubElement(domain, "name").text = f"cr-{spec.uuid}"
    ET.SubElement(domain, "uuid").text = spec.uuid
    ET.SubElement(domain, "memory", unit="MiB").text = str(spec.flavor.memory_mb)
    ET.SubElement(domain, "vcpu").text = str(spec.flavor.vcpus)
    _os(ET.SubElement(domain, "os"), domain_type)
    domain.append(_metadata_element(spec))
    devices = ET.SubElement(domain, "devices")
    if disk is not None:
        _disk(devices, disk)
    for port in spec.ports:
        _interface(devices, port, interface_type)
    _serial(devices, console)
    return ET.tostring(domain, encoding="unicode")


def _os(os_: ET.Element, domain_type: str) -> None:
    if domain_type == "test":
        ET.SubElement(os_, "type").text = "hvm"
    else:  # a PC that boots from its first disk
        ET.SubElement(os_, "type", arch="x86_64", machine="pc").text = "hvm"
        ET.SubElement(os_, "boot", dev="hd")


def _disk(devices: ET.Element, disk: Disk) -> None:
    # IDE: every BIOS boots from it, no guest drivers needed.
    kind = "volume" if disk.pool else "file"
    element = ET.SubElement(devices, "disk", type=kind, device="disk")
    ET.SubElement(element, "driver", name="qemu", type=disk.format)
    if disk.pool:
        ET.SubElement(element, "source", pool=disk.pool, volume=disk.volume)
    else:
        ET.SubElement(element, "source", file=disk.path)
    ET.SubElement(element, "target", dev="hda", bus="ide")


def _interface(devices: ET.Element, port: Port, interface_type: str) -> None:
    nic = ET.SubElement(devices, "interface", type=interface_type)
    source_key = "bridge" if interface_type == "bridge" else "network"
    ET.SubElement(nic, "source", {source_key: port.plugged_into})
    ET.SubElement(nic, "mac", address=port.mac)


def _serial(devices: ET.Element, console: Path | None) -> None:
    if console is not None:
        serial = ET.SubElement(devices, "serial", type="file")
        ET.SubElement(serial, "source", path=str(console))
    else:
        ET.SubElement(devices, "serial", type="pty")


# --------------------------------------------------------------- metadata

def _metadata_element(spec: BootSpec) -> ET.Element:
    metadata = ET.Element("metadata")
    inst = ET.SubElement(metadata, f"{_Q}instance")
    for tag, value in (("name", spec.name), ("request-id", spec.request_id),
                       ("project", spec.project), ("image", spec.image),
                       ("image-source", spec.image_source),
                       ("cell-path", spec.target_cell),
                       ("created-at", datetime.now(UTC).isoformat())):
        ET.SubElement(inst, f"{_Q}{tag}").text = value
    f = spec.flavor
    ET.SubElement(inst, f"{_Q}flavor", vcpus=str(f.vcpus), memory_mb=str(f.memory_mb),
                  disk_gb=str(f.disk_gb))
    ports = ET.SubElement(inst, f"{_Q}ports")
    for p in spec.ports:
        ET.SubElement(ports, f"{_Q}port", network=p.network, mac=p.mac, ip=p.ip)
    return metadata


def read_metadata(dom: Any) -> Meta | None:
    """Our metadata element of `dom`, or None for a domain cellrouter did not make."""
    try:
        root = ET.fromstring(dom.XMLDesc(0))
    except (libvirt.libvirtError, ET.ParseError):
        return None
    inst = root.find(f"metadata/{_Q}instance")
    if inst is None:
        return None

    def text(tag: str) -> str:
        found = inst.find(f"{_Q}{tag}")
        return (found.text or "") if found is not None else ""

    created = text("created-at")
    return Meta(
        name=text("name"),
        request_id=text("request-id"),
        project=text("project"),
        image=text("image"),
        image_source=text("image-source"),
        flavor=_flavor(inst.find(f"{_Q}flavor")),
        ports=tuple(Port(p.get("network", ""), p.get("mac", ""), p.get("ip", ""))
                    for p in inst.iterfind(f"{_Q}ports/{_Q}port")),
        created_at=datetime.fromisoformat(created) if created else None,
    )


def _flavor(element: ET.Element | None) -> Resources:
    size = element.attrib if element is not None else {}
    return Resources(int(size.get("vcpus", 0)), int(size.get("memory_mb", 0)),
                     int(size.get("disk_gb", 0)))


# ---------------------------------------------------------------- volumes

def volume_format(vol: Any) -> str:
    """A storage volume's format ("qcow2", "raw", ...), read from its XML."""
    found = ET.fromstring(vol.XMLDesc(0)).find("target/format")
    return found.get("type", "raw") if found is not None else "raw"


def overlay_xml(name: str, capacity: int, backing: str, backing_format: str) -> str:
    """A qcow2 volume backed by the file `backing` (copy-on-write)."""
    volume = ET.Element("volume")
    ET.SubElement(volume, "name").text = name
    ET.SubElement(volume, "capacity", unit="bytes").text = str(capacity)
    target = ET.SubElement(volume, "target")
    ET.SubElement(target, "format", type="qcow2")
    store = ET.SubElement(volume, "backingStore")
    ET.SubElement(store, "path").text = backing
    ET.SubElement(store, "format", type=backing_format)
    return ET.tostring(volume, encoding="unicode")


# ------------------------------------------------------------------ nodes

def test_node_xml(vcpus: int, memory_mb: int) -> str:
    """A libvirt test-driver node with this many CPUs and this much memory, and
    an `images` storage pool."""
    node = ET.Element("node")
    cpu = ET.SubElement(node, "cpu")
    for tag, value in (("mhz", 2000), ("model", "x86_64"), ("active", vcpus), ("nodes", 1),
                       ("sockets", 1), ("cores", vcpus), ("threads", 1)):
        ET.SubElement(cpu, tag).text = str(value)
    ET.SubElement(node, "memory").text = str(memory_mb * 1024)  # KiB
    # A storage pool for images, as a real host would have one.
    pool = ET.SubElement(node, "pool", type="dir")
    ET.SubElement(pool, "name").text = "images"
    ET.SubElement(ET.SubElement(pool, "target"), "path").text = "/var/lib/cellrouter/images"
    return ET.tostring(node, encoding="unicode")
