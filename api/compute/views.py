"""How a cellrouter instance reads as a Nova server: the one mapping table.

    cellrouter state   status     vm_state    power_state   task_state
    BUILDING           BUILD      building    0 NOSTATE     spawning
    ACTIVE             ACTIVE     active      1 RUNNING     -
    PAUSED             PAUSED     paused      3 PAUSED      -
    SUSPENDED          SUSPENDED  suspended   7 SUSPENDED   -
    STOPPED            SHUTOFF    stopped     4 SHUTDOWN    -
    SHELVED            SHELVED    shelved     4 SHUTDOWN    -
    SHELVED_OFFLOADED  SHELVED_OFFLOADED
                                  shelved_offloaded
                                              4 SHUTDOWN    -
    ERROR              ERROR      error       0 NOSTATE     -
    DELETED            DELETED    deleted     0 NOSTATE     -
    UNKNOWN            UNKNOWN    (none)      0 NOSTATE     -

Other fields: `tenant_id` is the instance's project; `flavor` is the
configured flavor with the same resources (or "custom"); `image` is the
image the instance booted from, by id; `addresses` come from its ports, by
network name; `OS-EXT-AZ:availability_zone` is its leaf cell's name;
`hostId` a digest of project and host; admins also see `OS-EXT-SRV-ATTR:host`
(the host; null for a shelved offloaded server, which is on none);
`security_groups` are the distinct names of the groups of its network
service ports, and absent (as Nova has it) when it has none. A
server in a cell that does not answer is, from 2.69, the partial entry Nova
gives for a down cell. Which of these keys a body carries at a microversion
is api.compute.shapes' to say; the cell path is not among them (the
dashboard's API gives it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from api.compute.shapes import (
    CREATE_KEYS,
    EMBEDDED_FLAVOR,
    IMAGE_PROPERTIES,
    PARTIAL_KEYS,
    Body,
    extended_addresses,
    server_keys,
    shape,
)
from api.microversion import Version
from model.catalog import Image
from model.cells import SEPARATOR
from model.compute import Instance, InstanceState, Resources

# state -> (status, vm_state, power_state, task_state)
STATES: Mapping[InstanceState, tuple[str, str | None, int, str | None]] = {
    InstanceState.BUILDING: ("BUILD", "building", 0, "spawning"),
    InstanceState.ACTIVE: ("ACTIVE", "active", 1, None),
    InstanceState.PAUSED: ("PAUSED", "paused", 3, None),
    InstanceState.SUSPENDED: ("SUSPENDED", "suspended", 7, None),
    InstanceState.STOPPED: ("SHUTOFF", "stopped", 4, None),
    InstanceState.SHELVED: ("SHELVED", "shelved", 4, None),
    InstanceState.SHELVED_OFFLOADED: ("SHELVED_OFFLOADED", "shelved_offloaded", 4, None),
    InstanceState.ERROR: ("ERROR", "error", 0, None),
    InstanceState.DELETED: ("DELETED", "deleted", 0, None),
    InstanceState.UNKNOWN: ("UNKNOWN", None, 0, None),
}
# Nova's status filter names -> cellrouter states.
BY_STATUS = {status: state for state, (status, *_) in STATES.items()}


def stamp(when: datetime | None) -> str | None:
    """Nova's time format: 2026-12-02T17:00:00Z."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


@dataclass(frozen=True, slots=True)
class Names:
    """What the deployment calls what an instance carries: its flavor (by its
    resources) and its image (by id). Made once, from the config; the first
    entry wins where two share a value."""

    flavors: Mapping[Resources, str]
    images: Mapping[str, Image]

    @classmethod
    def of(cls, flavors: Mapping[str, Resources], images: Sequence[Image]) -> Names:
        return cls({f: name for name, f in reversed(list(flavors.items()))},
                   {image.id: image for image in reversed(images)})


class ServiceNames(Protocol):
    """What server bodies ask of the network service (api.compute.ports)."""

    def __call__(self, ids: Sequence[str]) -> Mapping[str, str]:
        """The names of the service's networks `ids`, by id."""

    def security_groups(self, port_ids: Sequence[str]) -> Mapping[str, Sequence[str]]:
        """The names of the security groups of each port, by port id."""


class ServerView:
    """Server bodies for one request: its base URL, microversion and caller.
    Every value is made here; which keys a body keeps is api.compute.shapes'."""

    def __init__(self, base: str, version: Version, admin: bool, names: Names,
                 key_names: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
                 network_names: ServiceNames | None = None,
                 ) -> None:
        """`key_names(uuids)`: the key pair each server was booted with, from
        the API's database (api.db), asked only of instances that do not keep
        their key name (booted before instances kept it); `network_names`:
        names of networks of the network service, and of the security groups
        of its ports."""
        self.base = base
        self.version = version
        self.admin = admin
        self._names = names
        self._key_names = key_names
        self._keys: dict[str, str] = {}
        self._network_names = network_names
        self._networks: dict[str, str] = {}
        self._groups: dict[str, list[str]] = {}

    def know_keys(self, instances: Sequence[Instance]) -> None:
        """Look up at once, before their bodies, the key names of those of
        `instances` that do not keep theirs, and the names of the networks
        their service ports are on."""
        unkept = [i.uuid for i in instances if i.attributes.key_name is None]
        if self._key_names is not None and unkept:
            self._keys.update(self._key_names(unkept))
        ids = {p.network for i in instances for p in i.ports if p.port_id}
        if self._network_names is not None and ids:
            self._networks.update(self._network_names(sorted(ids)))
        self._know_groups(instances)

    def _know_groups(self, instances: Sequence[Instance]) -> None:
        """The distinct names of each instance's ports' security groups."""
        port_ids = [p.port_id for i in instances for p in i.ports if p.port_id]
        if self._network_names is None or not port_ids:
            return
        by_port = self._network_names.security_groups(port_ids)
        for instance in instances:
            names = (n for p in instance.ports if p.port_id for n in by_port.get(p.port_id, ()))
            self._groups[instance.uuid] = list(dict.fromkeys(names))

    def _security_groups(self, instance: Instance) -> dict[str, Any]:
        """Nova's `security_groups` of a server: none at all when it has none."""
        names = self._groups.get(instance.uuid)
        return {"security_groups": [{"name": n} for n in names]} if names else {}

    def _key_name(self, instance: Instance) -> str | None:
        """Nova's `key_name`: null for a server booted without a key pair."""
        kept = instance.attributes.key_name
        if kept is None:  # booted before instances kept it: the API's database's
            return self._keys.get(instance.uuid)
        return kept or None

    def links(self, uuid: str) -> list[dict[str, str]]:
        return [{"rel": "self", "href": f"{self.base}/v2.1/servers/{uuid}"},
                {"rel": "bookmark", "href": f"{self.base}/servers/{uuid}"}]

    def brief(self, instance: Instance) -> dict[str, Any]:
        return {"id": instance.uuid, "name": instance.name, "links": self.links(instance.uuid)}

    def created(self, instance: Instance) -> dict[str, Any]:
        """The answer to a create (the first server of a multiple create)."""
        self._know_groups([instance])
        return shape({"id": instance.uuid, "links": self.links(instance.uuid),
                      "OS-DCF:diskConfig": "MANUAL", **self._security_groups(instance)},
                     CREATE_KEYS)

    def partial(self, instance: Instance, body: Body = Body.DETAIL) -> dict[str, Any]:
        """A server in a cell that did not answer (Nova 2.69's down-cell entry)."""
        values = {"id": instance.uuid, "status": "UNKNOWN", "tenant_id": instance.project,
                  "created": stamp(instance.created_at), "links": self.links(instance.uuid)}
        if values["created"] is None:
            del values["created"]  # the index above the cell did not know it
        return shape(values, PARTIAL_KEYS[body])

    def detail(self, instance: Instance, body: Body = Body.DETAIL) -> dict[str, Any]:
        """`instance` as `body` (a list's entry, a show, ...) carries it."""
        if body is Body.BRIEF:
            return self.brief(instance)
        return shape(self._values(instance, body),
                     server_keys(self.version, body, self.admin))

    def _values(self, instance: Instance, body: Body) -> dict[str, Any]:
        status, vm_state, power_state, task_state = STATES[instance.state]
        a = instance.attributes
        values: dict[str, Any] = {
            **self.brief(instance),
            "status": status, "tenant_id": instance.project, "user_id": instance.project,
            "metadata": dict(a.metadata), "hostId": host_id(instance),
            "image": self._image(instance.image),
            "flavor": self._flavor(instance.flavor), "created": stamp(instance.created_at),
            "updated": stamp(instance.updated_at or instance.created_at),
            "addresses": addresses(instance, extended_addresses(self.version, body),
                                   self._networks),
            "accessIPv4": a.access_ipv4, "accessIPv6": a.access_ipv6, "OS-DCF:diskConfig": "MANUAL",
            "config_drive": "", "key_name": self._key_name(instance),
            "OS-EXT-AZ:availability_zone": instance.cell_path.rpartition(SEPARATOR)[2],
            "OS-EXT-STS:power_state": power_state, "OS-EXT-STS:task_state": task_state,
            "OS-SRV-USG:launched_at": None, "OS-SRV-USG:terminated_at": None,
            "os-extended-volumes:volumes_attached": [],
            **self._security_groups(instance),
            "locked": a.locked, "locked_reason": a.locked_reason or None,
            "description": a.description or None, "tags": list(a.tags),
            "trusted_image_certificates": None, "server_groups": [],
            # The tree pins no zone and keeps no hints: what a server booted without.
            "pinned_availability_zone": None, "scheduler_hints": {}, "user_data": None,
            **self._admin_values(instance),
        }
        if vm_state is not None:  # a state the leaf does not know has none (schemas: a string)
            values["OS-EXT-STS:vm_state"] = vm_state
        if status in _PROGRESS:
            values["progress"] = 0
        if instance.fault:
            values["fault"] = {"code": 500, "message": instance.fault,
                               "created": stamp(instance.updated_at or instance.created_at)}
        return values

    def _admin_values(self, instance: Instance) -> dict[str, Any]:
        host = instance.host or None
        return {"OS-EXT-SRV-ATTR:host": host, "OS-EXT-SRV-ATTR:hypervisor_hostname": host,
                "OS-EXT-SRV-ATTR:instance_name": f"instance-{instance.uuid}",
                "OS-EXT-SRV-ATTR:reservation_id": instance.attributes.reservation_id or None,
                "OS-EXT-SRV-ATTR:launch_index": 0,
                "OS-EXT-SRV-ATTR:kernel_id": "", "OS-EXT-SRV-ATTR:ramdisk_id": "",
                "OS-EXT-SRV-ATTR:hostname": hostname(instance.name),
                "OS-EXT-SRV-ATTR:root_device_name": None, "OS-EXT-SRV-ATTR:user_data": None,
                "host_status": _host_status(instance)}

    def _flavor(self, resources: Resources) -> dict[str, Any]:
        name = self._names.flavors.get(resources, "custom")
        if self.version < EMBEDDED_FLAVOR:
            return {"id": name, "links": [{"rel": "bookmark",
                                           "href": f"{self.base}/flavors/{name}"}]}
        return {"original_name": name, "vcpus": resources.vcpus, "ram": resources.memory_mb,
                "disk": resources.disk_gb, "ephemeral": 0, "swap": 0, "extra_specs": {}}

    def _image(self, image_id: str) -> dict[str, Any] | str:
        if not image_id:
            return ""  # booted from nothing Nova would call an image
        image = self._names.images.get(image_id)
        if image is None and not self.admin:
            return ""  # an image no longer declared: what it was is the operator's business
        shown: dict[str, Any] = {"id": image_id, "links": [
            {"rel": "bookmark", "href": f"{self.base}/images/{image_id}"}]}
        if self.version >= IMAGE_PROPERTIES:
            shown["properties"] = image_properties(image)
        return shown


_PROGRESS = {"ACTIVE", "BUILD"}  # Nova shows progress only while it means something


def _host_status(instance: Instance) -> str:
    """Nova's host_status: the leaf answered for the instance, so its host is UP
    as far as the API can say; "" for an instance on no host."""
    if not instance.host:
        return ""
    return "UNKNOWN" if instance.state is InstanceState.UNKNOWN else "UP"


def host_id(instance: Instance) -> str:
    """Nova's hostId: the host as a digest of project and host, so a project can
    tell its servers apart by host without learning the host's name."""
    if not instance.host:
        return ""
    return hashlib.sha224(f"{instance.project}{instance.host}".encode()).hexdigest()


def hostname(name: str) -> str:
    """A server's name as a host name, as Nova makes it."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63] or "server"


def image_properties(image: Image | None) -> dict[str, str]:
    """2.98's image properties: what the deployment declares of the image."""
    if image is None:
        return {}
    return {"disk_format": image.disk_format, "min_disk": str(image.min_disk),
            "min_ram": str(image.min_ram)}


def addresses(instance: Instance, extended: bool = True,
              names: Mapping[str, str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Nova's `addresses`: each network's fixed addresses, from the ports; with
    their type and MAC when `extended`. A service port's network is named by
    `names` (its id when unknown)."""
    networks: dict[str, list[dict[str, Any]]] = {}
    for port in instance.ports:
        network = (names or {}).get(port.network, port.network) if port.port_id else port.network
        entries = networks.setdefault(network, [])
        if port.ip:
            entry = {"version": 6 if ":" in port.ip else 4, "addr": port.ip}
            if extended:
                entry |= {"OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": port.mac}
            entries.append(entry)
    return networks
