"""Only candidates with room for the flavor's vcpus (allocation ratio applied).

For a cell, "room" is the most any one host below it has free.
"""

from __future__ import annotations

from bestmatch.api import VCPU, HostState, RequestSpec, Verdict


class VcpuFilter:
    name = VCPU

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        room = candidate.room.vcpus
        wanted = spec.flavor.vcpus
        if room >= wanted:
            return Verdict.ok()
        return Verdict.reject(VCPU, f"{room} vCPUs free, {wanted} vCPUs asked")
