"""Place next to, or away from, given instances.

Hints: `same_host=UUID[,UUID...]` and `different_host=UUID[,UUID...]`;
without the hint both filters pass every candidate. `candidate.instance_uuids`
names the instances a host holds.

A candidate with no instance uuids is taken to be a child cell, which may
hold the instances further down: same_host passes it and leaves the choice to
the cell below. The same goes for an empty host, so in a leaf same_host
narrows the choice to the hosts holding a named instance plus the empty ones.
"""

from __future__ import annotations

from bestmatch.api import DIFFERENT_HOST, SAME_HOST, HostState, RequestSpec, Verdict


class SameHostFilter:
    name = SAME_HOST

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        wanted = spec.hint_set(SAME_HOST)
        held = candidate.instance_uuids
        if not wanted or not held or wanted & held:
            return Verdict.ok()
        return Verdict.reject(SAME_HOST, f"holds none of the {len(wanted)} instances named")


class DifferentHostFilter:
    name = DIFFERENT_HOST

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        shared = spec.hint_set(DIFFERENT_HOST) & candidate.instance_uuids
        if not shared:
            return Verdict.ok()
        return Verdict.reject(DIFFERENT_HOST, f"holds {', '.join(sorted(shared))}")
