"""Compute: resources, hosts, instances, their states and the actions on them.

Plain frozen dataclasses and enums. The wire format (protobuf) is translated
to and from them in `cellwire.wire` and nowhere else.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Resources:
    """An amount of compute: a flavor, a host's total, what is used or free."""

    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.vcpus + other.vcpus,
            self.memory_mb + other.memory_mb,
            self.disk_gb + other.disk_gb,
        )

    def __sub__(self, other: Resources) -> Resources:
        return Resources(
            self.vcpus - other.vcpus,
            self.memory_mb - other.memory_mb,
            self.disk_gb - other.disk_gb,
        )

    def __str__(self) -> str:
        return f"{self.vcpus} vCPU / {self.memory_mb} MB / {self.disk_gb} GB"

    def covers(self, want: Resources) -> bool:
        """True when every resource here is at least what `want` asks."""
        return (
            self.vcpus >= want.vcpus
            and self.memory_mb >= want.memory_mb
            and self.disk_gb >= want.disk_gb
        )

    def scaled(self, ratios: tuple[float, float, float]) -> Resources:
        """Each resource times its allocation ratio (cpu, ram, disk), rounded down."""
        cpu, ram, disk = ratios
        return Resources(int(self.vcpus * cpu), int(self.memory_mb * ram), int(self.disk_gb * disk))

    def max(self, other: Resources) -> Resources:
        """The larger of each resource."""
        return Resources(
            max(self.vcpus, other.vcpus),
            max(self.memory_mb, other.memory_mb),
            max(self.disk_gb, other.disk_gb),
        )


# The metadata of a field a leaf fills for its driver: not on the wire, not shown.
LEAF_ONLY: Mapping[str, bool] = {"leaf_only": True}

RATIO_KEYS = ("cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio")


def allocation_ratios(entry: Mapping[str, Any]) -> tuple[float, float, float]:
    """The cpu, ram and disk allocation ratios of a host's config table (1.0 each
    by default). Raises ValueError or TypeError for values that are not numbers."""
    cpu, ram, disk = (float(entry.get(key, 1.0)) for key in RATIO_KEYS)
    return cpu, ram, disk


class InstanceState(enum.Enum):
    BUILDING = "BUILDING"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    SUSPENDED = "SUSPENDED"
    STOPPED = "STOPPED"
    # Shelved: powered off, still on its host. Offloaded: gone from any host,
    # its resources freed; the leaf keeps the instance until it is unshelved.
    SHELVED = "SHELVED"
    SHELVED_OFFLOADED = "SHELVED_OFFLOADED"
    DELETED = "DELETED"
    ERROR = "ERROR"
    UNKNOWN = "UNKNOWN"


class Action(enum.Enum):
    """What a client can ask of an existing instance."""

    PAUSE = "pause"
    UNPAUSE = "unpause"
    SUSPEND = "suspend"
    RESUME = "resume"
    REBOOT = "reboot"
    REBOOT_HARD = "reboot_hard"
    STOP = "stop"
    START = "start"
    SHELVE = "shelve"
    SHELVE_OFFLOAD = "shelve_offload"
    UNSHELVE = "unshelve"  # onto a host the leaf chooses, or one named (an admin's)
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Port:
    """A pre-bound virtual NIC: on a network named by the deployment's catalog
    (`model.catalog`), or, with a `port_id`, a port of the network service
    (`network/`) on the network whose id `network` is."""

    network: str
    mac: str
    ip: str = ""
    # Where the leaf plugs it (a bridge, an oVirt network): filled by the leaf
    # from its catalog, never from a caller (the wire does not carry it, nor
    # does anything shown to people).
    source: str = field(default="", metadata=LEAF_ONLY)
    port_id: str = ""

    @property
    def plugged_into(self) -> str:
        return self.source or self.network


@dataclass(frozen=True, slots=True)
class Attributes:
    """What a user sets on an instance without touching its guest: Nova's
    description, metadata, tags, lock, access addresses and key name. The
    leaf keeps them beside the instance (cells.attributes); the guest never
    sees them. `model.edits` changes them."""

    description: str = ""
    metadata: tuple[tuple[str, str], ...] = ()  # sorted by key
    tags: tuple[str, ...] = ()  # sorted
    locked: bool = False
    locked_reason: str = ""
    access_ipv4: str = ""
    access_ipv6: str = ""
    # Set at boot, never edited: the multiple create it came from (Nova's).
    reservation_id: str = ""
    # An admin set the instance to ERROR (Nova's os-resetState): it shows
    # ERROR, and takes nothing but a delete, until set back to active.
    reset_to_error: bool = False
    # The key pair it was booted with, by name, as Nova keeps it on the
    # instance: "" when none; None when not kept with it (an instance booted
    # before instances kept it: the API looks it up in its own database).
    key_name: str | None = None


NO_ATTRIBUTES = Attributes()


@dataclass(frozen=True, slots=True)
class BootSpec:
    """Everything needed to build one instance."""

    uuid: str
    request_id: str
    name: str
    flavor: Resources
    image: str = ""
    ports: tuple[Port, ...] = ()
    hints: tuple[tuple[str, str], ...] = ()
    project: str = ""
    # From a client: where to place it (optional). At a driver: the path of
    # the leaf cell it is being built in.
    target_cell: str = ""
    # What the image is at the leaf (a file in its image directory, or
    # POOL/VOLUME): filled by the leaf from its catalog, never from a caller.
    image_source: str = field(default="", metadata=LEAF_ONLY)
    attributes: Attributes = NO_ATTRIBUTES


@dataclass(frozen=True, slots=True)
class Instance:
    uuid: str
    name: str
    state: InstanceState
    flavor: Resources
    image: str = ""
    ports: tuple[Port, ...] = ()
    host: str = ""
    cell_path: str = ""
    project: str = ""
    request_id: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    fault: str = ""
    attributes: Attributes = NO_ATTRIBUTES


@dataclass(frozen=True, slots=True)
class HostInfo:
    """One hypervisor host as its driver sees it, in schedulable units."""

    name: str
    total: Resources
    used: Resources = field(default_factory=Resources)
    instances: int = 0
    alive: bool = True
    # For a "host" that is really many (an oVirt cluster): the largest single
    # request it can take. None: the host's free resources.
    largest_free: Resources | None = None

    @property
    def free(self) -> Resources:
        return self.total - self.used
