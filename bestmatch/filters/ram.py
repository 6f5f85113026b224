"""Only candidates with room for the flavor's memory_mb (allocation ratio applied).

For a cell, "room" is the most any one host below it has free.
"""

from __future__ import annotations

from bestmatch.api import RAM, HostState, RequestSpec, Verdict


class RamFilter:
    name = RAM

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        room = candidate.room.memory_mb
        wanted = spec.flavor.memory_mb
        if room >= wanted:
            return Verdict.ok()
        return Verdict.reject(RAM, f"{room} MB free, {wanted} MB asked")
