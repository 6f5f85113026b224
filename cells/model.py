"""Plain result and query types of the cells API (the wire is in cells.wire)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cells.errors import FailedPrecondition
from cells.topology import CellCapacity, CellKind
from virt.model import Action, Instance, InstanceState


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
class LeafInfo:
    """A leaf cell as the cells above it know it: where it is, what it can do."""

    path: str
    address: str
    actions: tuple[str, ...] = tuple(a.value for a in Action)
    refusals: tuple[tuple[str, str], ...] = ()  # (action, why it is not supported)

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
