"""Selectors: order the candidates that pass the filters.

`random` (the default) picks uniformly among feasible candidates: the first
fit of a random order, then a few alternates.
`filter_weigher` ranks them by weight and picks at random among the best
`subset_size`, so that concurrent requests do not all pile onto one host;
given a `HostTable` (what a leaf keeps of its hosts), it does the standard
stages as array operations (`bestmatch.columns`), with the same result.
Both keep the other feasible candidates as alternates, in order.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from bestmatch.api import Filter, HostState, RequestSpec, Selection, Weigher
from bestmatch.columns import filter_columns, weigh_columns
from bestmatch.filters import default_filters
from bestmatch.pipeline import (
    Filtered,
    Sampling,
    first_rejection,
    random_order,
    run_filters,
    weigh,
)
from bestmatch.soft_groups import soft_first, soft_first_rows, soft_group
from bestmatch.table import HostTable

# How many more feasible candidates `random` keeps after its choice.
ALTERNATES = 4


class _Sampled:
    """Filtering with sampling from a random offset, shared by the selectors."""

    def __init__(
        self, filters: Sequence[Filter] | None, sampling: Sampling | None, seed: int | None
    ) -> None:
        self.filters = list(filters) if filters is not None else default_filters()
        self.sampling = sampling
        self.rng = random.Random(seed)

    def window(self, count: int) -> tuple[int | None, int]:
        """How many feasible candidates are enough (None: all), and where among
        `count` candidates to start looking."""
        if self.sampling is None or not count:
            return None, 0
        return self.sampling.enough(count), self.rng.randrange(count)

    def feasible(self, candidates: Sequence[HostState], spec: RequestSpec) -> Filtered:
        enough, start = self.window(len(candidates))
        return run_filters(self.filters, candidates, spec, enough=enough, start=start)


class RandomSelector:
    """Uniformly random among the candidates that pass the filters.

    It walks the candidates in a uniformly random order and stops at the first
    that passes every filter, then takes `alternates` more that pass (for a
    claim that fails, or a child that turns out full). The first fit of a
    random order is uniform over the feasible candidates, and when most fit it
    costs a few filter calls however many candidates there are. When nothing
    fits, every candidate has been examined, so "no host fits" counts every
    rejection. Sampling settings are for `filter_weigher`; they change
    nothing here. A request for a soft server group is the exception: every
    candidate is examined, and those that best keep the group together or
    apart come first (bestmatch.soft_groups; over a HostTable, by its columns).
    """

    name = "random"

    def __init__(
        self,
        filters: Sequence[Filter] | None = None,
        sampling: Sampling | None = None,
        seed: int | None = None,
        alternates: int = ALTERNATES,
    ) -> None:
        self._filters = list(filters) if filters is not None else default_filters()
        self._rng = random.Random(seed)
        self._alternates = max(0, alternates)

    def select(self, candidates: Sequence[HostState], spec: RequestSpec) -> Selection:
        every = bool(soft_group(spec)[0])  # a soft policy weighs all that fit
        if every and isinstance(candidates, HostTable):
            return self._soft_columns(candidates, spec)
        passed: list[HostState] = []
        rejected: Counter[str] = Counter()
        considered = 0
        for n in random_order(len(candidates), self._rng):
            candidate = candidates[n]
            considered += 1
            reason = first_rejection(self._filters, candidate, spec)
            if reason is not None:
                rejected[reason] += 1
                continue
            passed.append(candidate)
            if len(passed) > self._alternates and not every:
                break
        if every:
            passed = soft_first(passed, spec)[0][:self._alternates + 1]
        return Selection(tuple(passed), considered, rejected, len(candidates))

    def _soft_columns(self, table: HostTable, spec: RequestSpec) -> Selection:
        """The same decision for a soft group over the table's columns: every
        row filtered at once, the feasible in a random order, then by group."""
        kept, rejected, considered = filter_columns(self._filters, table, spec)
        shuffled = kept[np.random.default_rng(self._rng.getrandbits(64)).permutation(len(kept))]
        ordered, _ = soft_first_rows(table, shuffled, spec)
        return Selection(tuple(table.take(ordered[:self._alternates + 1])), considered,
                         rejected, len(table))


class FilterWeigherSelector:
    """Filters, then weighers; random among the best `subset_size`."""

    name = "filter_weigher"

    def __init__(
        self,
        filters: Sequence[Filter] | None = None,
        weighers: Sequence[tuple[Weigher, float]] = (),
        subset_size: int = 1,
        sampling: Sampling | None = None,
        seed: int | None = None,
    ) -> None:
        self._pipeline = _Sampled(filters, sampling, seed)
        self._weighers = list(weighers)
        self._subset = max(1, subset_size)

    def select(self, candidates: Sequence[HostState], spec: RequestSpec) -> Selection:
        if isinstance(candidates, HostTable):
            return self._select_columns(candidates, spec)
        found = self._pipeline.feasible(candidates, spec)
        weights = weigh(self._weighers, found.passed, spec)
        ranked = [c for _, c in sorted(zip(weights, found.passed, strict=True),
                                       key=lambda pair: -pair[0])]
        return self._selection(*soft_first(ranked, spec), found.considered, found.rejected,
                               len(candidates))

    def _select_columns(self, table: HostTable, spec: RequestSpec) -> Selection:
        """The same decision over the table's columns (bestmatch.columns)."""
        enough, start = self._pipeline.window(len(table))
        kept, rejected, considered = filter_columns(
            self._pipeline.filters, table, spec, enough=enough, start=start)
        weights = weigh_columns(self._weighers, table, kept, spec)
        rank = np.argsort(-weights, kind="stable")
        if not soft_group(spec)[0]:
            ranked = table.take(kept, rank)
            return self._selection(ranked, len(ranked), considered, rejected, len(table))
        ordered, best = soft_first_rows(table, kept[rank], spec)
        return self._selection(table.take(ordered), best, considered, rejected, len(table))

    def _selection(self, ranked: list[HostState], best: int, considered: int,
                   rejected: Mapping[str, int], total: int) -> Selection:
        """`best`: how many of `ranked` a soft group policy puts first (the
        random pick of `subset_size` stays among them)."""
        if min(best, len(ranked)) > 1 and self._subset > 1:
            pick = self._pipeline.rng.randrange(min(self._subset, best, len(ranked)))
            ranked.insert(0, ranked.pop(pick))
        return Selection(tuple(ranked), considered, rejected, total)
