"""Plain result and query types of the cells API (the wire is in cells.wire)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cells.topology import CellCapacity, CellKind
from virt.model import Instance, InstanceState


@dataclass(frozen=True, slots=True)
class Located:
    uuid: str
    cell_path: str
    host: str


@dataclass(frozen=True, slots=True)
class ListQuery:
    limit: int = 0
    page_token: str = ""
    project: str = ""
    state: InstanceState | None = None
    name_prefix: str = ""
    sort: str = "name"  # or "created_at"

    def matches(self, instance: Instance) -> bool:
        return (
            (not self.project or instance.project == self.project)
            and (self.state is None or instance.state is self.state)
            and instance.name.startswith(self.name_prefix)
        )


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
class ChildReport:
    """What a child tells its parent on each heartbeat."""

    name: str
    capacity: CellCapacity
    changes: tuple[InstanceChange, ...] = ()
    leaf_addresses: tuple[tuple[str, str], ...] = ()  # (leaf path, address) below


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
