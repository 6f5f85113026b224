"""What a cell knows about its subtree: capacity and the shape of the tree."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from virt.model import HostInfo, Resources


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

    @property
    def free(self) -> Resources:
        return self.total - self.used

    @classmethod
    def of_host(cls, host: HostInfo) -> CellCapacity:
        up = 1 if host.alive else 0
        return cls(
            total=host.total,
            used=host.used,
            largest_free=host.free if host.alive else Resources(),
            hosts=1,
            hosts_up=up,
            instances=host.instances,
        )

    @classmethod
    def combine(cls, parts: Iterable[CellCapacity]) -> CellCapacity:
        """The capacity of a subtree made of `parts`."""
        result = cls()
        for p in parts:
            result = cls(
                total=result.total + p.total,
                used=result.used + p.used,
                largest_free=result.largest_free.max(p.largest_free),
                hosts=result.hosts + p.hosts,
                hosts_up=result.hosts_up + p.hosts_up,
                instances=result.instances + p.instances,
            )
        return result


@dataclass(frozen=True, slots=True)
class HostSummary:
    name: str
    capacity: CellCapacity


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

    def walk(self) -> Iterable[CellNode]:
        """This cell and every cell below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()
