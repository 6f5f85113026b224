"""The entities of the fake engine and the two ways it refuses a request.

Frozen dataclasses are snapshots handed out by ``EngineState``; ``Vm`` is mutable only
inside the state's lock. ``EngineFault`` becomes a ``<fault>`` under an HTTP status;
``NotFound`` a 404 with an empty body.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

MIB = 1024 * 1024
BLANK_TEMPLATE_ID = "00000000-0000-0000-0000-000000000000"  # as on every real engine
ROOT_TAG_ID = "00000000-0000-0000-0000-000000000000"  # the tag every other tag hangs from
NIC_INTERFACES = ("e1000", "e1000e", "pci_passthrough", "rtl8139", "rtl8139_virtio",
                  "spapr_vlan", "virtio")
_ID_NAMESPACE = uuid.UUID("5e7c0f6a-8a4e-4c55-9f0e-1d3c2b7a9e10")  # stable ids across runs

# Statuses in which a VM holds memory and CPUs on its host.
HOLDS_HOST = frozenset({
    "wait_for_launch", "powering_up", "up", "reboot_in_progress", "powering_down",
    "saving_state", "restoring_state", "paused", "migrating", "not_responding", "unknown",
})
VM_STATUSES = HOLDS_HOST | {"unassigned", "down", "suspended", "image_locked"}


class EngineFault(Exception):
    """A refusal the engine reports as a ``<fault>`` under an HTTP status."""

    def __init__(self, status: int, detail: str, reason: str = "Operation Failed") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.reason = reason


class NotFound(Exception):
    """An unknown entity or path: the engine answers 404 with an empty body."""


@dataclass(frozen=True)
class Host:
    id: str
    name: str
    address: str
    memory: int  # bytes
    cpus: int


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    description: str
    memory: int


@dataclass
class Vm:
    id: str
    name: str
    description: str
    memory: int
    topology: tuple[int, int, int]  # sockets, cores, threads
    template_id: str
    status: str = "down"
    host_id: str | None = None
    created: float = field(default_factory=time.time)
    generation: int = 0  # bumped by every action; stale transition threads give up
    history: tuple[str, ...] = ()  # every status it has been in, for tests
    tag_ids: tuple[str, ...] = ()  # in the order they were assigned
    nics: tuple[Nic, ...] = ()

    @property
    def vcpus(self) -> int:
        sockets, cores, threads = self.topology
        return sockets * cores * threads


@dataclass(frozen=True)
class VmSpec:
    """What a ``POST /vms`` body asked for; ``None`` where the body said nothing."""

    name: str | None
    description: str
    memory: int | None
    topology: tuple[int, int, int] | None
    cluster: tuple[str | None, str | None]  # (id, name)
    template: tuple[str | None, str | None]


@dataclass(frozen=True)
class Tag:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Network:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class VnicProfile:
    """A network's profile; the engine makes one per network, named after it."""

    id: str
    name: str
    network_id: str


@dataclass(frozen=True)
class Nic:
    id: str
    name: str
    mac: str  # lower case, as the engine keeps it
    interface: str
    profile_id: str | None  # None: the NIC is on no network


@dataclass(frozen=True)
class NicSpec:
    """What a ``POST /vms/{id}/nics`` body asked for; ``None`` where it said nothing."""

    name: str | None
    mac: str | None
    interface: str | None
    profile_id: str | None


@dataclass(frozen=True)
class HostUsage:
    host: Host
    memory: int  # bytes held by VMs placed on the host
    vcpus: int
    active: int  # VMs holding the host


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    correlation_id: str | None



def stable_id(kind: str, name: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{kind}/{name}"))
