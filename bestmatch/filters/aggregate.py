"""Only candidates whose aggregate metadata matches the request's properties.

Every key of `spec.properties` must be present in `candidate.aggregates` with
an equal value; keys are compared exactly. A request without properties
passes everywhere.

Meant for leaves: a child cell reports no aggregates, so at a router every
cell would be rejected as soon as the request has properties.
"""

from __future__ import annotations

from bestmatch.api import AGGREGATE, HostState, RequestSpec, Verdict


class AggregateFilter:
    name = AGGREGATE

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        for key, wanted in spec.properties.items():
            have = candidate.aggregates.get(key)
            if have is None:
                return Verdict.reject(AGGREGATE, f"no {key}, {key}={wanted} asked")
            if have != wanted:
                return Verdict.reject(AGGREGATE, f"{key}={have}, {key}={wanted} asked")
        return Verdict.ok()
