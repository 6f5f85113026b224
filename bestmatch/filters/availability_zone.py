"""Only candidates in the availability zone the client asked for.

The zone comes from the `availability_zone` hint; without it every candidate
passes. A candidate whose `availability_zone` is "" passes too: a child cell
spans zones rather than being in one (as does a host that reports none), so
the choice is left to the cells below, where hosts do name their zone.
"""

from __future__ import annotations

from bestmatch.api import AVAILABILITY_ZONE, HostState, RequestSpec, Verdict


class AvailabilityZoneFilter:
    name = AVAILABILITY_ZONE

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        wanted = spec.hints.get(AVAILABILITY_ZONE, "")
        zone = candidate.availability_zone
        if not wanted or not zone or zone == wanted:
            return Verdict.ok()
        return Verdict.reject(AVAILABILITY_ZONE, f"in zone {zone}, zone {wanted} asked")
