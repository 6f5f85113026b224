"""What a deployment declares its users may boot from and plug into.

    [[images]]                       # the images users boot by id (or name)
    name = "debian-12"
    id = ""                          # default: a uuid made from the name
    source = "debian-12.qcow2"       # at a leaf: a file in its image directory,
                                     # or POOL/VOLUME in a libvirt storage pool
    disk_format = "qcow2"
    min_disk = 0                     # GB
    min_ram = 0                      # MB

    [[networks]]                     # the networks ports may be on
    name = "prod"                    # what users name
    source = "br-prod"               # at a leaf: the bridge (or oVirt network) it plugs into
    project = ""                     # whose it is; "" for every project
    cidr = "10.0.0.0/24"             # optional: a fixed IP must be inside it

The same tables sit in a tree file, a cell's config and the API's config.
Callers name images and networks; only a leaf turns a name into a source,
from its own catalog (`Catalog.resolve`), so no caller ever supplies a path or
a bridge. A member (a project's token) may name only declared images and the
networks of its own project or shared ones (`Catalog.member_boot`), and never
chooses a port's MAC: that is made from the project, the request and the
port's place, so a retried boot asks for the very same ports.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from model.compute import BootSpec, Port
from model.errors import InvalidArgument

# Image ids made from names are stable: the same name gives the same id everywhere.
_IMAGE_IDS = uuid.UUID("5f1c2b0e-93a4-4c3e-9c55-1b6f2f0c6e21")


@dataclass(frozen=True, slots=True)
class Image:
    id: str
    name: str
    source: str
    disk_format: str = "qcow2"
    min_disk: int = 0
    min_ram: int = 0


@dataclass(frozen=True, slots=True)
class Network:
    name: str
    source: str
    project: str = ""
    cidr: str = ""

    def visible_to(self, project: str, admin: bool) -> bool:
        return admin or not self.project or self.project == project


@dataclass(frozen=True, slots=True)
class Catalog:
    images: tuple[Image, ...] = ()
    networks: tuple[Network, ...] = ()

    @classmethod
    def from_tables(cls, images: Iterable[Mapping[str, Any]],
                    networks: Iterable[Mapping[str, Any]]) -> Catalog:
        """From `[[images]]` and `[[networks]]`. Raises KeyError, TypeError or
        ValueError for a bad entry (the caller names the file)."""
        return cls(tuple(image_of(entry) for entry in images),
                   tuple(network_of(entry) for entry in networks))

    def image(self, ref: str) -> Image | None:
        """The image with id (or else name) `ref`."""
        return (next((i for i in self.images if i.id == ref), None)
                or next((i for i in self.images if i.name == ref), None))

    def network(self, name: str) -> Network | None:
        return next((n for n in self.networks if n.name == name), None)

    def member_boot(self, spec: BootSpec, bound_ports: bool = False) -> BootSpec:
        """`spec` as a member of `spec.project` may ask it: a declared image
        (named by its id), networks declared for the project or shared, a fixed
        IP inside the network, and MACs of the tree's making. InvalidArgument
        otherwise, naming what is not there (as if another project's network
        did not exist). Ports of the network service (with a port id) are kept
        as given only when `bound_ports` (the API bound them, and vouches)."""
        image = ""
        if spec.image:
            found = self.image(spec.image)
            if found is None:
                raise InvalidArgument(f"image {spec.image[:64]!r} is not one this cloud offers")
            image = found.id
        ports = []
        for n, port in enumerate(spec.ports):
            if port.port_id:
                if not bound_ports:
                    raise InvalidArgument("ports of the network service are bound through"
                                          " the API, not given by a member")
                ports.append(port)
                continue
            network = self.network(port.network)
            if network is None or not network.visible_to(spec.project, admin=False):
                raise InvalidArgument(f"network {port.network[:64]!r} is not one project"
                                      f" {spec.project} may use")
            check_fixed_ip(network, port.ip)
            ports.append(Port(network.name, port_mac(spec.project, spec.request_id, n),
                              port.ip))
        return replace(spec, image=image, ports=tuple(ports))

    def resolve(self, spec: BootSpec,
                bridge_of: Callable[[str], str] | None = None) -> BootSpec:
        """`spec` with what a leaf plugs in filled from this catalog: the image's
        source and each port's. InvalidArgument for an image or network this
        catalog lacks; a catalog that declares no images (or no networks) takes
        names as they are, with no source (a test host keeps no disks). A port
        of the network service plugs into `bridge_of(its network id)` (the
        bridge its network agent makes), never into anything a caller names."""
        source = ""
        if spec.image and self.images:
            image = self.image(spec.image)
            if image is None:
                raise InvalidArgument(f"image {spec.image[:64]!r} is not one this cell has")
            source = image.source
        ports = tuple(replace(port, source=_service_bridge(port, bridge_of)
                              if port.port_id else self._port_source(port))
                      for port in spec.ports)
        return replace(spec, image_source=source, ports=ports)

    def _port_source(self, port: Port) -> str:
        if not self.networks:
            return port.network
        network = self.network(port.network)
        if network is None:
            raise InvalidArgument(f"network {port.network[:64]!r} is not one this cell has")
        return network.source


def _service_bridge(port: Port, bridge_of: Callable[[str], str] | None) -> str:
    return bridge_of(port.network) if bridge_of is not None else ""


def port_mac(project: str, request_id: str, n: int) -> str:
    """A locally administered MAC (fa:16:3e, as OpenStack's), the same for the
    same project, request and port place."""
    digest = hashlib.sha256(f"{project}/{request_id}/{n}".encode()).digest()
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in digest[:3])


def check_fixed_ip(network: Network, ip: str) -> None:
    """InvalidArgument unless `ip` is empty or an address inside the network."""
    if not ip:
        return
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise InvalidArgument(f"invalid fixed IP address {ip[:64]!r}") from None
    if network.cidr and address not in ipaddress.ip_network(network.cidr):
        raise InvalidArgument(f"fixed IP {ip} is not in network {network.name}"
                              f" ({network.cidr})")


def image_of(entry: Mapping[str, Any]) -> Image:
    name = str(entry["name"])
    return Image(id=str(entry.get("id") or uuid.uuid5(_IMAGE_IDS, name)), name=name,
                 source=str(entry.get("source", "")),
                 disk_format=str(entry.get("disk_format", "qcow2")),
                 min_disk=int(entry.get("min_disk", 0)), min_ram=int(entry.get("min_ram", 0)))


def network_of(entry: Mapping[str, Any]) -> Network:
    cidr = str(entry.get("cidr", ""))
    if cidr:
        ipaddress.ip_network(cidr)  # ValueError, reported with the file's name
    return Network(name=str(entry["name"]), source=str(entry.get("source") or entry["name"]),
                   project=str(entry.get("project", "")), cidr=cidr)
