"""Server groups: keep a group's members together, or apart.

Hints: `group=NAME` and `group_policy=affinity|anti-affinity`; without a
group, or with another policy, both filters pass every candidate (the soft
policies order candidates instead: bestmatch.soft_groups).
`candidate.groups` says how many members of each group the candidate holds.

A filter sees one candidate at a time, so it cannot tell whether the group
already has members elsewhere. The caller says so in the `group_members`
hint (how many members exist so far):

    affinity       passes a candidate that holds members of the group; when
                   `group_members` is absent or "0" (the first member) every
                   candidate passes. Any other value, even one that is not a
                   number, means members exist and only their holders pass.
    anti-affinity  rejects a candidate holding `max_per_host` or more
                   members of the group: the request's
                   `group_max_per_host` hint (the group's rule, as Nova's
                   max_server_per_host) when it is a whole number >= 1,
                   else the filter's option (default 1).

Meant for leaves unless cells report `groups`: a cell's count covers its
whole subtree, which suits affinity but would make anti-affinity cap a cell
as if it were one host.
"""

from __future__ import annotations

from bestmatch.api import AFFINITY, ANTI_AFFINITY, HostState, RequestSpec, Verdict

GROUP = "group"
GROUP_POLICY = "group_policy"
GROUP_MEMBERS = "group_members"
GROUP_MAX_PER_HOST = "group_max_per_host"


def _group(spec: RequestSpec, policy: str) -> str:
    """The group the request belongs to under `policy`, or ""."""
    if spec.hints.get(GROUP_POLICY, "") != policy:
        return ""
    return spec.hints.get(GROUP, "")


class AffinityFilter:
    name = AFFINITY

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        group = _group(spec, "affinity")
        if not group or candidate.groups.get(group, 0) > 0:
            return Verdict.ok()
        if spec.hints.get(GROUP_MEMBERS, "").strip() in ("", "0"):
            return Verdict.ok()  # the first member may go anywhere
        return Verdict.reject(AFFINITY, f"holds no member of group {group}")


class AntiAffinityFilter:
    name = ANTI_AFFINITY

    def __init__(self, *, max_per_host: int = 1) -> None:
        if not isinstance(max_per_host, int) or isinstance(max_per_host, bool):
            raise TypeError(f"max_per_host must be an integer, not {max_per_host!r}")
        if max_per_host < 1:
            raise ValueError(f"max_per_host must be at least 1, not {max_per_host}")
        self.max_per_host = max_per_host

    def check(self, candidate: HostState, spec: RequestSpec) -> Verdict:
        group = _group(spec, "anti-affinity")
        members = candidate.groups.get(group, 0) if group else 0
        most = self._most(spec)
        if members < most:
            return Verdict.ok()
        return Verdict.reject(
            ANTI_AFFINITY, f"holds {members} members of group {group}, at most {most}"
        )

    def _most(self, spec: RequestSpec) -> int:
        """The group's own limit when the request carries one, else the option's."""
        given = spec.hints.get(GROUP_MAX_PER_HOST, "").strip()
        if given.isascii() and given.isdigit() and int(given) >= 1:
            return int(given)
        return self.max_per_host
