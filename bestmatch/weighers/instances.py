"""The number of instances a candidate holds, as is.

The multiplier's sign picks the policy: negative prefers fewer instances
(spread), positive prefers more (pack). Note that this is the opposite sign
from the free-resource weighers.
"""

from __future__ import annotations

from collections.abc import Sequence

from bestmatch.api import HostState, RequestSpec

INSTANCES = "instances"


class InstanceCountWeigher:
    name = INSTANCES

    def scores(self, candidates: Sequence[HostState], spec: RequestSpec) -> list[float]:
        return [float(c.instances) for c in candidates]
