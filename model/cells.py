"""Cells: their paths, capacity and shape, and the queries and answers of the
cells API (the wire is in `cellwire.wire`).

A cell path is the names of the cells from the top down, joined by SEPARATOR
("top!eu!eu-a"); `routing.path` parses and checks them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from model.compute import Action, HostInfo, Instance, InstanceState, Resources
from model.errors import FailedPrecondition

SEPARATOR = "!"
# The driver a topology names for a fake leaf given no hosts: a leaf that is
# there for agents only (every leaf takes agents; one with hosts is named
# after its driver).
AGENTS_ONLY = "agents"


class CellKind(enum.Enum):
    ROUTER = "router"
    LEAF = "leaf"


@dataclass(frozen=True, slots=True)
class CellCapacity:
    """A subtree's capacity in schedulable units (allocation ratios applied)."""

    total: Resources = field(default_factory=Resources)
    used: Resources = field(default_factory=Resources)
    largest_free: Resources = field(default_factory=Resources)
    hosts: int = 0
    hosts_up: int = 0
    instances: int = 0
    # For each flavor the operator configured: how many more instances of it
    # fit, counted host by host (a flavor does not straddle hosts).
    flavor_fits: tuple[tuple[str, int], ...] = ()
    # How many instances are in each state (by the state's name), sorted by name.
    states: tuple[tuple[str, int], ...] = ()
    # Agents that take new service objects: by "KIND/" and by "KIND/CAPABILITY".
    agents: tuple[tuple[str, int], ...] = ()

    @property
    def free(self) -> Resources:
        return self.total - self.used

    @classmethod
    def of_host(
        cls, host: HostInfo, flavors: Mapping[str, Resources] | None = None
    ) -> CellCapacity:
        up = 1 if host.alive else 0
        free = (host.largest_free or host.free) if host.alive else Resources()
        return cls(
            total=host.total,
            used=host.used,
            largest_free=free,
            hosts=1,
            hosts_up=up,
            instances=host.instances,
            flavor_fits=tuple((name, fits(free, f)) for name, f in (flavors or {}).items()),
        )

    @classmethod
    def combine(cls, parts: Iterable[CellCapacity]) -> CellCapacity:
        """The capacity of a subtree made of `parts`."""
        result = cls()
        fits_by_name: dict[str, int] = {}
        states: dict[str, int] = {}
        agents: dict[str, int] = {}
        for p in parts:
            result = cls(
                total=result.total + p.total,
                used=result.used + p.used,
                largest_free=result.largest_free.max(p.largest_free),
                hosts=result.hosts + p.hosts,
                hosts_up=result.hosts_up + p.hosts_up,
                instances=result.instances + p.instances,
            )
            for name, n in p.flavor_fits:
                fits_by_name[name] = fits_by_name.get(name, 0) + n
            for state, n in p.states:
                states[state] = states.get(state, 0) + n
            for key, n in p.agents:
                agents[key] = agents.get(key, 0) + n
        return replace(result, flavor_fits=tuple(sorted(fits_by_name.items())),
                       states=tuple(sorted(states.items())), agents=tuple(sorted(agents.items())))


def fits(free: Resources, flavor: Resources) -> int:
    """How many instances of `flavor` fit in `free` on one host."""
    counts = [
        have // want
        for have, want in ((free.vcpus, flavor.vcpus), (free.memory_mb, flavor.memory_mb),
                           (free.disk_gb, flavor.disk_gb))
        if want > 0
    ]
    return max(0, min(counts)) if counts else 0


@dataclass(frozen=True, slots=True)
class HostSummary:
    name: str
    capacity: CellCapacity


@dataclass(frozen=True, slots=True)
class Replica:
    """One process of a cell that runs as several, as its parent hears from it."""

    address: str
    heard_ago: float  # seconds since it last registered or reported
    standby: bool = False  # a leaf's standby process, waiting to take over

    @property
    def silent(self) -> bool:
        """Not heard from for SILENT seconds (shown so by `tree` and the dashboard)."""
        return self.heard_ago >= SILENT


# A process not heard from for this long (seconds) is shown silent.
SILENT = 5.0


@dataclass(frozen=True, slots=True)
class CellNode:
    """One cell in a `Topology` answer, with its subtree."""

    name: str
    path: str
    kind: CellKind
    address: str
    up: bool
    capacity: CellCapacity
    capabilities: tuple[str, ...] = ()
    children: tuple[CellNode, ...] = ()
    hosts: tuple[HostSummary, ...] = ()
    last_seen: datetime | None = None
    replicas: tuple[Replica, ...] = ()  # as its parent knows them
    # Up (it reports) but it did not answer the topology call: figures as last
    # reported, subtree unknown.
    unreachable: bool = False
    # A leaf's driver ("libvirt", "ovirt", "fake", a plugin's name), or
    # AGENTS_ONLY; "" for a router, and for a leaf that has not said.
    driver: str = ""
    # It serves its client port to anyone, as admin, without tokens
    # (client_auth = "none"); only the cell itself says so.
    open_client_port: bool = False

    @property
    def health(self) -> str:
        """"down" (its parent has not heard from it), "unreachable" (it reports,
        but did not answer the tree's call) or "up"."""
        if not self.up:
            return "down"
        return "unreachable" if self.unreachable else "up"

    @property
    def cannot(self) -> tuple[Action, ...]:
        """The actions no leaf of its subtree can do."""
        return tuple(a for a in Action if a.value not in self.capabilities)

    def walk(self) -> Iterable[CellNode]:
        """This cell and every cell below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class Located:
    uuid: str
    cell_path: str
    host: str
    project: str = ""  # so that a healed index row knows whose the instance is


@dataclass(frozen=True, slots=True)
class ListQuery:
    limit: int = 0
    page_token: str = ""
    project: str = ""
    state: InstanceState | None = None
    name_prefix: str = ""
    sort: str = "name"  # or "created_at"
    cell: str = ""  # only the subtree at this full path; "" for the whole tree

    def matches(self, instance: Instance) -> bool:
        return (
            (not self.project or instance.project == self.project)
            and (not self.cell or in_subtree(instance.cell_path, self.cell))
            and (self.state is None or instance.state is self.state)
            and instance.name.startswith(self.name_prefix)
        )


def in_subtree(path: str, top: str) -> bool:
    """Whether the cell at `path` is the cell at `top` or below it."""
    return path == top or path.startswith(top + SEPARATOR)


@dataclass(frozen=True, slots=True)
class InstancePage:
    instances: tuple[Instance, ...]
    next_page_token: str = ""
    unreachable_cells: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class InstanceChange:
    """A change a child reports up so every index above stays current."""

    uuid: str
    state: InstanceState
    cell_path: str = ""
    host: str = ""


@dataclass(frozen=True, slots=True)
class LeafInfo:
    """A leaf cell as the cells above it know it: where it is, what it can do."""

    path: str
    address: str
    actions: tuple[str, ...] = tuple(a.value for a in Action)
    refusals: tuple[tuple[str, str], ...] = ()  # (action, why it is not supported)
    driver: str = ""  # as CellNode.driver

    def supports(self, action: Action) -> bool:
        return action.value in self.actions

    def refuse(self, action: Action) -> FailedPrecondition:
        """The error for a request of `action` on an instance in this leaf."""
        why = dict(self.refusals).get(action.value, "its driver does not support it")
        return FailedPrecondition(
            f"cell {self.path} cannot {action.value} instances: {why}")


@dataclass(frozen=True, slots=True)
class ChildReport:
    """What a child tells its parent on each heartbeat."""

    name: str
    capacity: CellCapacity
    changes: tuple[InstanceChange, ...] = ()
    leaves: tuple[LeafInfo, ...] = ()  # every leaf below, by path relative to the child
    address: str = ""  # the reporting process's own (a child may run as several replicas)
    # A leaf's standby process saying it is there: nothing else in the report counts.
    standby: bool = False


@dataclass(frozen=True, slots=True)
class Registration:
    """A child's announcement of itself to its parent."""

    name: str
    address: str
    kind: CellKind
    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlacementOption:
    cell_path: str
    host: str = ""  # empty for a cell that was not looked into


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a boot would go: best first, then alternates; and why, per level."""

    ranked: tuple[PlacementOption, ...]
    explanations: tuple[str, ...] = ()
