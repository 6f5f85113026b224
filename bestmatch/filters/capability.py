"""Only candidates offering every capability the request needs.

A request's `needs` (for a service object, the capabilities its kind must
offer) must all be among the candidate's `capabilities`.
"""

from __future__ import annotations

from bestmatch.api import CAPABILITY, HostState, RequestSpec, Verdict


class CapabilityFilter:
    name = CAPABILITY

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        missing = spec.needs - candidate.capabilities
        if not missing:
            return Verdict.ok()
        return Verdict.reject(CAPABILITY, f"lacks {', '.join(sorted(missing))}")
