"""Selectors: order the candidates that pass the filters."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from bestmatch.api import Filter, HostState, RequestSpec, Selection
from bestmatch.filters import default_filters


def run_filters(
    filters: Sequence[Filter], candidates: Sequence[HostState], spec: RequestSpec
) -> tuple[list[HostState], Counter[str]]:
    """The candidates every filter passes, and how many each filter removed.

    A candidate is charged to the first filter that rejects it.
    """
    passed: list[HostState] = []
    rejected: Counter[str] = Counter()
    for candidate in candidates:
        for f in filters:
            verdict = f.check(candidate, spec)
            if not verdict.passed:
                rejected[verdict.reason] += 1
                break
        else:
            passed.append(candidate)
    return passed, rejected


class RandomSelector:
    """Uniformly random among the candidates that pass the filters.

    The rest of the feasible candidates follow in random order as alternates.
    Randomness keeps concurrent requests from all picking the same host.
    """

    name = "random"

    def __init__(self, filters: Sequence[Filter] | None = None, seed: int | None = None) -> None:
        self._filters = list(filters) if filters is not None else default_filters()
        self._rng = random.Random(seed)

    def select(self, candidates: Sequence[HostState], spec: RequestSpec) -> Selection:
        passed, rejected = run_filters(self._filters, candidates, spec)
        self._rng.shuffle(passed)
        return Selection(tuple(passed), len(candidates), rejected)
