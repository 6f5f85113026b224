"""How a cellrouter instance reads as a Nova server: the one mapping table.

    cellrouter state   status     vm_state    power_state   task_state
    BUILDING           BUILD      building    0 NOSTATE     spawning
    ACTIVE             ACTIVE     active      1 RUNNING     -
    PAUSED             PAUSED     paused      3 PAUSED      -
    SUSPENDED          SUSPENDED  suspended   7 SUSPENDED   -
    STOPPED            SHUTOFF    stopped     4 SHUTDOWN    -
    ERROR              ERROR      error       0 NOSTATE     -
    DELETED            DELETED    deleted     0 NOSTATE     -
    UNKNOWN            UNKNOWN    -           0 NOSTATE     -

Other fields: `tenant_id` is the instance's project; `flavor` is the
configured flavor with the same resources (or "custom"); `image` is the
image the instance booted from, by id; `addresses` come from its ports, by
network name; `OS-EXT-AZ:availability_zone` is its leaf cell's
name; admins also see `OS-EXT-SRV-ATTR:host` (the host) and
`cellrouter:cell_path`. A server in a cell that does not answer is, from 2.69,
the partial entry Nova gives for a down cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.microversion import EMBEDDED_FLAVOR, PINNED_AZ, SCHEDULER_HINTS, Version
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


class ServerView:
    """Server bodies for one request: its base URL, microversion and caller."""

    def __init__(self, base: str, version: Version, admin: bool, names: Names) -> None:
        self.base = base
        self.version = version
        self.admin = admin
        self._names = names

    def links(self, uuid: str) -> list[dict[str, str]]:
        return [{"rel": "self", "href": f"{self.base}/v2.1/servers/{uuid}"},
                {"rel": "bookmark", "href": f"{self.base}/servers/{uuid}"}]

    def brief(self, instance: Instance) -> dict[str, Any]:
        return {"id": instance.uuid, "name": instance.name, "links": self.links(instance.uuid)}

    def partial(self, instance: Instance) -> dict[str, Any]:
        """A server in a cell that did not answer (Nova 2.69's down-cell entry)."""
        return {"id": instance.uuid, "status": "UNKNOWN", "tenant_id": instance.project,
                "created": stamp(instance.created_at), "links": self.links(instance.uuid)}

    def detail(self, instance: Instance) -> dict[str, Any]:
        status, vm_state, power_state, task_state = STATES[instance.state]
        body: dict[str, Any] = {
            **self.brief(instance),
            "status": status, "tenant_id": instance.project, "user_id": instance.project,
            "metadata": {}, "hostId": "", "image": self._image(instance.image),
            "flavor": self._flavor(instance.flavor), "created": stamp(instance.created_at),
            "updated": stamp(instance.updated_at or instance.created_at),
            "addresses": addresses(instance),
            "accessIPv4": "", "accessIPv6": "",
            "OS-DCF:diskConfig": "MANUAL", "progress": 0, "config_drive": "", "key_name": None,
            "OS-EXT-AZ:availability_zone": instance.cell_path.rpartition(SEPARATOR)[2],
            "OS-EXT-STS:vm_state": vm_state, "OS-EXT-STS:power_state": power_state,
            "OS-EXT-STS:task_state": task_state, "OS-SRV-USG:launched_at": None,
            "OS-SRV-USG:terminated_at": None, "os-extended-volumes:volumes_attached": [],
            "security_groups": [{"name": "default"}], "locked": False, "description": None,
            "tags": [], "trusted_image_certificates": None, "server_groups": [],
            "locked_reason": None,
        }
        if instance.fault:
            body["fault"] = {"code": 500, "message": instance.fault,
                             "created": stamp(instance.updated_at)}
        if self.admin:
            body |= {"OS-EXT-SRV-ATTR:host": instance.host or None,
                     "OS-EXT-SRV-ATTR:hypervisor_hostname": instance.host or None,
                     "OS-EXT-SRV-ATTR:instance_name": f"instance-{instance.uuid}",
                     "cellrouter:cell_path": instance.cell_path}
        # Fields of late microversions that the tree has nothing for (it keeps no
        # hints and pins no zone), present as clients of those versions expect.
        if self.version >= PINNED_AZ:
            body["pinned_availability_zone"] = None
        if self.version >= SCHEDULER_HINTS:
            body["scheduler_hints"] = {}
        return body

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
        if image_id not in self._names.images and not self.admin:
            return ""  # an image no longer declared: what it was is the operator's business
        return {"id": image_id, "links": [{"rel": "bookmark",
                                           "href": f"{self.base}/images/{image_id}"}]}


def addresses(instance: Instance) -> dict[str, list[dict[str, Any]]]:
    """Nova's `addresses`: each network's fixed addresses, from the ports."""
    networks: dict[str, list[dict[str, Any]]] = {}
    for port in instance.ports:
        entries = networks.setdefault(port.network, [])
        if port.ip:
            entries.append({"version": 6 if ":" in port.ip else 4, "addr": port.ip,
                            "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": port.mac})
    return networks
