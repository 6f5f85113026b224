"""Selectors: order the candidates that pass the filters.

`random` (the default) picks uniformly among feasible candidates.
`filter_weigher` ranks them by weight and picks at random among the best
`subset_size`, so that concurrent requests do not all pile onto one host.
Both keep the other feasible candidates as alternates, in order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from bestmatch.api import Filter, HostState, RequestSpec, Selection, Weigher
from bestmatch.filters import default_filters
from bestmatch.pipeline import Filtered, Sampling, run_filters, weigh


class _Sampled:
    """Filtering with sampling from a random offset, shared by the selectors."""

    def __init__(
        self, filters: Sequence[Filter] | None, sampling: Sampling | None, seed: int | None
    ) -> None:
        self.filters = list(filters) if filters is not None else default_filters()
        self.sampling = sampling
        self.rng = random.Random(seed)

    def feasible(self, candidates: Sequence[HostState], spec: RequestSpec) -> Filtered:
        if self.sampling is None or not candidates:
            return run_filters(self.filters, candidates, spec)
        return run_filters(
            self.filters, candidates, spec,
            enough=self.sampling.enough(len(candidates)),
            start=self.rng.randrange(len(candidates)),
        )


class RandomSelector:
    """Uniformly random among the candidates that pass the filters."""

    name = "random"

    def __init__(
        self,
        filters: Sequence[Filter] | None = None,
        sampling: Sampling | None = None,
        seed: int | None = None,
    ) -> None:
        self._pipeline = _Sampled(filters, sampling, seed)

    def select(self, candidates: Sequence[HostState], spec: RequestSpec) -> Selection:
        found = self._pipeline.feasible(candidates, spec)
        self._pipeline.rng.shuffle(found.passed)
        return Selection(tuple(found.passed), found.considered, found.rejected, len(candidates))


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
        found = self._pipeline.feasible(candidates, spec)
        weights = weigh(self._weighers, found.passed, spec)
        ranked = [c for _, c in sorted(zip(weights, found.passed, strict=True),
                                       key=lambda pair: -pair[0])]
        if len(ranked) > 1 and self._subset > 1:
            pick = self._pipeline.rng.randrange(min(self._subset, len(ranked)))
            ranked.insert(0, ranked.pop(pick))
        return Selection(tuple(ranked), found.considered, found.rejected, len(candidates))
