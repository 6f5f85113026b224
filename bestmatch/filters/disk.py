"""Only candidates with room for the flavor's disk_gb (allocation ratio applied).

For a cell, "room" is the most any one host below it has free.
"""

from __future__ import annotations

from bestmatch.api import DISK, HostState, RequestSpec, Verdict


class DiskFilter:
    name = DISK

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        room = candidate.room.disk_gb
        wanted = spec.flavor.disk_gb
        if room >= wanted:
            return Verdict.ok()
        return Verdict.reject(DISK, f"{room} GB free, {wanted} GB asked")
