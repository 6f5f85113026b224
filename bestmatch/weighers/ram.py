"""Free memory in MB: with a positive multiplier, the emptier candidate wins
(spread); with a negative one, the fuller (pack).

For a cell this is the free memory of its whole subtree, not its `room`.
"""

from __future__ import annotations

from collections.abc import Sequence

from bestmatch.api import RAM, HostState, RequestSpec


class RamWeigher:
    name = RAM

    def scores(self, candidates: Sequence[HostState], spec: RequestSpec) -> list[float]:
        return [float(c.free.memory_mb) for c in candidates]
