"""Free vCPUs: with a positive multiplier, the emptier candidate wins
(spread); with a negative one, the fuller (pack).

For a cell this is the free vCPUs of its whole subtree, not its `room`.
"""

from __future__ import annotations

from collections.abc import Sequence

from bestmatch.api import VCPU, HostState, RequestSpec


class VcpuWeigher:
    name = VCPU

    def scores(self, candidates: Sequence[HostState], spec: RequestSpec) -> list[float]:
        return [float(c.free.vcpus) for c in candidates]
