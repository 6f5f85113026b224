"""Place next to, or away from, given instances.

Hints: `same_host=UUID[,UUID...]` and `different_host=UUID[,UUID...]`;
without the hint both filters pass every candidate. `candidate.instance_uuids`
names the instances a host holds.

A child cell (`instance_uuids` None) may hold the instances further down:
both filters pass it and leave the choice to the cell below. A host is judged
by what it holds, as Nova's filters judge it: with same_host, an empty host
holds none of the named instances and is refused.
"""

from __future__ import annotations

from bestmatch.api import DIFFERENT_HOST, SAME_HOST, HostState, RequestSpec, Verdict


class SameHostFilter:
    name = SAME_HOST

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        wanted = spec.hint_set(SAME_HOST)
        held = candidate.instance_uuids
        if not wanted or held is None or wanted & held:
            return Verdict.ok()
        return Verdict.reject(SAME_HOST, f"holds none of the {len(wanted)} instances named")


class DifferentHostFilter:
    name = DIFFERENT_HOST

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        held = candidate.instance_uuids
        shared = spec.hint_set(DIFFERENT_HOST) & held if held is not None else frozenset()
        if not shared:
            return Verdict.ok()
        return Verdict.reject(DIFFERENT_HOST, f"holds {', '.join(sorted(shared))}")
