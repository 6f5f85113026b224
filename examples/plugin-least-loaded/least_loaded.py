"""The `least_loaded` selector: an example cellrouter selector plugin.

Registered under the entry point group `cellrouter.selectors` (see this
folder's pyproject.toml). It runs the filters through the shared pipeline,
then orders the feasible candidates by

    1. fewest instances,
    2. then most free memory (total - used, in MB),
    3. then name,

so that, unlike `random`, the same state always gives the same order:
instances spread evenly over the hosts, the roomiest host first on a tie.

It is built the way cellrouter builds every selector:

    factory(filters=<list or None>, sampling=<Sampling or None>, [weighers=[(w, mult)]])

filters   None means bestmatch.filters.default_filters().
sampling  honoured like the bundled selectors: filtering starts at a random
          candidate and stops once `sampling.enough(len(candidates))` have
          passed, so with more candidates than that the order is the least
          loaded of a random sample, not of all. With fewer candidates than
          `sampling.minimum` (100 by default) every one is examined and the
          order is fully deterministic.
weighers  accepted so that a config naming weighers still loads, but ignored:
          the order above is the whole policy (a warning is logged).

Any other option is refused (a TypeError, which cellrouter reports as
BadPluginOptions naming this plugin).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

from bestmatch.api import Filter, HostState, RequestSpec, Selection, Weigher
from bestmatch.filters import default_filters
from bestmatch.pipeline import Filtered, Sampling, run_filters

__all__ = ["LeastLoadedSelector", "load_key"]

log = logging.getLogger(__name__)


def load_key(candidate: HostState) -> tuple[int, int, str]:
    """Sort key: fewest instances, then most free memory, then name."""
    return (candidate.instances, -candidate.free.memory_mb, candidate.name)


class LeastLoadedSelector:
    """Feasible candidates, least loaded first (see the module docstring)."""

    name = "least_loaded"

    def __init__(
        self,
        filters: Sequence[Filter] | None = None,
        sampling: Sampling | None = None,
        weighers: Sequence[tuple[Weigher, float]] = (),
    ) -> None:
        self._filters = list(filters) if filters is not None else default_filters()
        self._sampling = sampling
        self._rng = random.Random()  # only picks where sampling starts
        if weighers:
            log.warning("selector %s ignores its weighers (%s)", self.name,
                        ", ".join(w.name for w, _ in weighers))

    def _feasible(self, candidates: Sequence[HostState], spec: RequestSpec) -> Filtered:
        if self._sampling is None or not candidates:
            return run_filters(self._filters, candidates, spec)
        return run_filters(
            self._filters, candidates, spec,
            enough=self._sampling.enough(len(candidates)),
            start=self._rng.randrange(len(candidates)),
        )

    def select(self, candidates: Sequence[HostState], spec: RequestSpec) -> Selection:
        found = self._feasible(candidates, spec)
        ordered = sorted(found.passed, key=load_key)
        return Selection(tuple(ordered), found.considered, found.rejected,
                         total=len(candidates))
