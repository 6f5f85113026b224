"""The stages every selector shares: filtering (with sampling) and weighing.

    candidates ──filters──▶ feasible ──weighers──▶ ranked ──selector──▶ Selection
                (cheap first;            (each normalised to [0, 1],
                 stop early when          times its multiplier, summed)
                 enough are feasible)

The random selector needs only the filters, walked in a random order
(`random_order`) until the first fit.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bestmatch.api import Filter, HostState, RequestSpec, Weigher


@dataclass(frozen=True, slots=True)
class Sampling:
    """Stop filtering once this many candidates are feasible: `fraction` of
    all candidates, but at least `minimum` and at most `maximum`
    (kube-scheduler's approach). With thousands of hosts, the best of a few
    hundred random feasible ones is as good as the best of all; the cap keeps
    a decision's cost flat however large the cell grows."""

    minimum: int = 100
    fraction: float = 0.05
    maximum: int = 500

    def enough(self, candidates: int) -> int:
        wanted = max(self.minimum, math.ceil(candidates * self.fraction))
        return min(wanted, max(self.minimum, self.maximum))


@dataclass(frozen=True, slots=True)
class Filtered:
    passed: list[HostState]
    rejected: Counter[str]
    considered: int


def first_rejection(filters: Sequence[Filter], candidate: HostState,
                    spec: RequestSpec) -> str | None:
    """The reason of the first filter that rejects `candidate`; None if all pass."""
    for f in filters:
        verdict = f.check(candidate, spec)
        if not verdict.passed:
            return verdict.reason
    return None


def random_order(count: int, rng: random.Random) -> Iterator[int]:
    """0 .. count-1 in a uniformly random order, drawn lazily: each index costs
    O(1) (Fisher-Yates over a sparse map), so taking the first few of a large
    list costs nothing in its length."""
    moved: dict[int, int] = {}
    for i in range(count):
        j = rng.randrange(i, count)
        at_j = moved.get(j, j)
        moved[j] = moved.get(i, i)
        yield at_j


def run_filters(
    filters: Sequence[Filter],
    candidates: Sequence[HostState],
    spec: RequestSpec,
    *,
    enough: int | None = None,
    start: int = 0,
) -> Filtered:
    """The candidates every filter passes, and how many each filter removed.

    Candidates are examined from index `start` on, wrapping around; with
    `enough`, examination stops once that many have passed. A candidate is
    charged to the first filter that rejects it.
    """
    passed: list[HostState] = []
    rejected: Counter[str] = Counter()
    count = len(candidates)
    considered = 0
    for offset in range(count):
        if enough is not None and len(passed) >= enough:
            break
        candidate = candidates[(start + offset) % count]
        considered += 1
        reason = first_rejection(filters, candidate, spec)
        if reason is None:
            passed.append(candidate)
        else:
            rejected[reason] += 1
    return Filtered(passed, rejected, considered)


def normalise(scores: Sequence[float]) -> list[float]:
    """Scale to [0, 1]: the lowest becomes 0 and the highest 1 (all 0 if equal)."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    if high == low:
        return [0.0] * len(scores)
    span = high - low
    return [(s - low) / span for s in scores]


def weigh(
    weighers: Sequence[tuple[Weigher, float]],
    candidates: Sequence[HostState],
    spec: RequestSpec,
) -> list[float]:
    """Each candidate's total weight: sum of normalised scores times multipliers."""
    totals = [0.0] * len(candidates)
    for weigher, multiplier in weighers:
        raw = weigher.scores(candidates, spec)
        for i, score in enumerate(normalise(raw)):
            totals[i] += multiplier * score
    return totals
