"""Contracts of the selection pipeline.

A *candidate* is a `HostState`: a host inside a leaf, or a whole child cell
seen through the capacity its subtree reports. The pipeline runs in three
stages, each with a small contract:

    Filter    answers one candidate with a Verdict (pass, or reject + reason)
    Weigher   scores a list of candidates; higher is better (raw numbers:
              the pipeline normalises them to [0, 1] and applies multipliers)
    Selector  turns candidates into a Selection: the order to try them in,
              and what each filter removed, so "nothing fits" can say why

Rejections are values, never exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from model.compute import BootSpec, Resources

# Reason constants: every rejection names one, and explanations count them.
ALIVE = "alive"
ENABLED = "enabled"
RAM = "ram"
VCPU = "vcpu"
DISK = "disk"
AVAILABILITY_ZONE = "availability_zone"
AGGREGATE = "aggregate"
AFFINITY = "affinity"
ANTI_AFFINITY = "anti_affinity"
SAME_HOST = "same_host"
DIFFERENT_HOST = "different_host"
MAX_INSTANCES = "max_instances"
PROJECT_CELL = "project_cell"
CAPABILITY = "capability"

# A hint "aggregate:KEY" asks for hosts whose aggregate metadata has KEY.
PROPERTY_HINT = "aggregate:"


@dataclass(frozen=True, slots=True)
class Ratios:
    """Allocation ratios: how far a resource may be over-committed."""

    cpu: float = 1.0
    ram: float = 1.0
    disk: float = 1.0


@dataclass(frozen=True, slots=True)
class HostState:
    """A candidate: a host, or a child cell as a whole.

    `total` is in schedulable units: physical size times the allocation
    ratio in `ratios` (kept for explanations and weighers).
    """

    name: str
    cell_path: str = ""
    total: Resources = field(default_factory=Resources)
    used: Resources = field(default_factory=Resources)
    # The most of each resource free in one place. For a host this is
    # total - used; for a cell, the best of its hosts (a cell is not one
    # big host).
    largest_free: Resources | None = None
    alive: bool = True
    instances: int = 0
    enabled: bool = True
    ratios: Ratios = field(default_factory=Ratios)
    availability_zone: str = ""
    aggregates: Mapping[str, str] = field(default_factory=dict)  # aggregate metadata
    capabilities: frozenset[str] = frozenset()
    groups: Mapping[str, int] = field(default_factory=dict)  # server group -> members here
    # The instances a host holds (empty: none); None for a child cell, whose
    # instances are further down.
    instance_uuids: frozenset[str] | None = None
    # The largest single request this candidate could take; worked out once
    # here because every resource filter asks for it.
    room: Resources = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        room = self.largest_free if self.largest_free is not None else self.total - self.used
        object.__setattr__(self, "room", room)

    @property
    def free(self) -> Resources:
        return self.total - self.used


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """What is being placed. Hints are the client's scheduler hints:

        group=NAME, group_policy=affinity|anti-affinity, group_members=N
        same_host=UUID[,UUID...], different_host=UUID[,UUID...]
        availability_zone=NAME
        aggregate:KEY=VALUE    (becomes a property matched against aggregates)
    """

    flavor: Resources
    project: str = ""
    image: str = ""
    hints: Mapping[str, str] = field(default_factory=dict)
    # Properties matched against aggregate metadata (flavor extra specs,
    # image properties), e.g. {"hw:cpu_model": "epyc"}.
    properties: Mapping[str, str] = field(default_factory=dict)
    # Capabilities a candidate must offer, every one (HostState.capabilities).
    needs: frozenset[str] = frozenset()

    @classmethod
    def of(cls, spec: BootSpec) -> RequestSpec:
        """The request for a boot: its flavor, project, image and hints."""
        hints = dict(spec.hints)
        properties = {k.removeprefix(PROPERTY_HINT): v for k, v in hints.items()
                      if k.startswith(PROPERTY_HINT)}
        return cls(spec.flavor, spec.project, spec.image, hints, properties)

    def hint_set(self, key: str) -> frozenset[str]:
        """A comma-separated hint as a set (empty when absent)."""
        raw = self.hints.get(key, "")
        return frozenset(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Verdict:
    """A filter's answer: pass, or reject with a reason constant."""

    passed: bool
    reason: str = ""
    detail: str = ""

    @classmethod
    def ok(cls) -> Verdict:
        return _PASS

    @classmethod
    def reject(cls, reason: str, detail: str = "") -> Verdict:
        return cls(False, reason, detail)


_PASS = Verdict(True)


@dataclass(frozen=True, slots=True)
class Selection:
    """Candidates in the order to try them (chosen first, then alternates),
    how many were examined, and how many each filter removed."""

    ordered: tuple[HostState, ...]
    considered: int
    rejected: Mapping[str, int] = field(default_factory=dict)
    total: int = 0  # candidates offered; more than `considered` when sampling stopped early

    @property
    def chosen(self) -> HostState | None:
        return self.ordered[0] if self.ordered else None

    def explain(self, noun: str = "candidates") -> str:
        """'ram: 3 of 4 hosts, alive: 1 of 4 hosts' style summary."""
        if not self.rejected:
            if self.considered == 0:
                return f"no {noun} to choose from"
            return f"all {self.considered} {noun} passed"
        ranked = sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{reason}: {n} of {self.considered} {noun}" for reason, n in ranked)


class Filter(Protocol):
    """Decides whether one candidate can take the request. Pure and cheap."""

    name: str

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict: ...


class Weigher(Protocol):
    """Scores candidates that passed the filters; higher is better.

    Raw scores in any unit: the pipeline normalises each weigher's scores to
    [0, 1] and multiplies by the configured multiplier (negative to invert,
    e.g. pack instead of spread).
    """

    name: str

    def scores(self, candidates: Sequence[HostState], spec: RequestSpec) -> Sequence[float]: ...


class Selector(Protocol):
    """Orders the candidates that can take the request, best first."""

    name: str

    def select(self, candidates: Sequence[HostState], spec: RequestSpec) -> Selection: ...
