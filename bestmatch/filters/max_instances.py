"""Only candidates holding fewer than `limit` instances.

Options: `limit` (default 50), at least 1.

Meant for leaves: a child cell's `instances` counts its whole subtree, so at
a router the limit would cap whole cells.
"""

from __future__ import annotations

from bestmatch.api import MAX_INSTANCES, HostState, RequestSpec, Verdict


class MaxInstancesFilter:
    name = MAX_INSTANCES

    def __init__(self, *, limit: int = 50) -> None:
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise TypeError(f"limit must be an integer, not {limit!r}")
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self.limit = limit

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        if candidate.instances < self.limit:
            return Verdict.ok()
        return Verdict.reject(
            MAX_INSTANCES, f"{candidate.instances} instances, at most {self.limit}"
        )
