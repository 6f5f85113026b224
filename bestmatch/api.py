"""Contracts of the selection pipeline.

A *candidate* is a `HostState`: a host inside a leaf, or a whole child cell
seen through the capacity its subtree reports. A `Filter` answers one
candidate with a `Verdict`; a `Selector` orders the candidates that pass.
Rejections are values with a reason, so "nothing fits" can say why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from virt.model import Resources


@dataclass(frozen=True, slots=True)
class HostState:
    """A candidate: a host, or a child cell as a whole."""

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

    @property
    def free(self) -> Resources:
        return self.total - self.used

    @property
    def room(self) -> Resources:
        """The largest single request this candidate could take."""
        return self.largest_free if self.largest_free is not None else self.free


@dataclass(frozen=True, slots=True)
class RequestSpec:
    flavor: Resources
    project: str = ""
    image: str = ""
    hints: Mapping[str, str] = field(default_factory=dict)


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
    and how many candidates each filter removed."""

    ordered: tuple[HostState, ...]
    considered: int
    rejected: Mapping[str, int] = field(default_factory=Counter)

    @property
    def chosen(self) -> HostState | None:
        return self.ordered[0] if self.ordered else None

    def explain(self, noun: str = "candidates") -> str:
        """'ram: 3 of 4 hosts, alive: 1 of 4 hosts' style summary."""
        if not self.rejected:
            return f"no {noun} to choose from" if self.considered == 0 else "all passed"
        parts = [f"{reason}: {n} of {self.considered} {noun}" for reason, n in
                 sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0]))]
        return ", ".join(parts)


class Filter(Protocol):
    """Decides whether one candidate can take the request. Pure and cheap."""

    name: str

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict: ...


class Selector(Protocol):
    """Orders the candidates that can take the request, best first."""

    name: str

    def select(self, candidates: Sequence[HostState], spec: RequestSpec) -> Selection: ...
