"""Soft server-group policies: a preference among the feasible, never a rule.

Hints: `group=NAME` and `group_policy=soft-affinity|soft-anti-affinity`
(Nova's policies from microversion 2.15). Where the hard policies' filters
(bestmatch.filters.affinity) reject, a soft policy only orders: the
candidates that pass the filters and best keep the group together (most
members of the group here) or apart (fewest) come first, in the selector's
own order among them, and the rest follow as alternates. So a soft group is
kept together or apart whenever a candidate that can take the instance
allows it, and is placed anyway when none does.

Both selectors apply it: `random` then looks at every candidate (not just
the first that fits) when a request has a soft policy, and `filter_weigher`
picks its random `subset_size` among the best tier only. A candidate's
`groups` counts are a host's members at a leaf; a router gives a child cell
that holds members a count of 1 (routing.near), so soft-affinity goes down
to the cells holding members and soft-anti-affinity to those holding none.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bestmatch.api import HostState, RequestSpec
from bestmatch.filters.affinity import GROUP, GROUP_POLICY
from bestmatch.table import HostTable, Rows

SOFT_AFFINITY = "soft-affinity"
SOFT_ANTI_AFFINITY = "soft-anti-affinity"


def soft_group(spec: RequestSpec) -> tuple[str, int]:
    """The request's group under a soft policy and the policy's sign (+1:
    together, -1: apart); ("", 0) without one."""
    group = spec.hints.get(GROUP, "")
    policy = spec.hints.get(GROUP_POLICY, "")
    if not group or policy not in (SOFT_AFFINITY, SOFT_ANTI_AFFINITY):
        return "", 0
    return group, 1 if policy == SOFT_AFFINITY else -1


def soft_first(ranked: Sequence[HostState], spec: RequestSpec) -> tuple[list[HostState], int]:
    """`ranked` (feasible, in the selector's order) reordered by the request's
    soft policy, best first and the selector's order kept among equals, and
    how many share the best place. Unchanged (all of them best) without one."""
    group, sign = soft_group(spec)
    if not group or not ranked:
        return list(ranked), len(ranked)
    score = [sign * c.groups.get(group, 0) for c in ranked]
    order = sorted(range(len(ranked)), key=lambda i: -score[i])  # stable
    best = score[order[0]]
    return [ranked[i] for i in order], sum(1 for s in score if s == best)


def soft_first_rows(table: HostTable, rows: Rows, spec: RequestSpec) -> tuple[Rows, int]:
    """`soft_first` over a HostTable's `rows` (feasible, in the selector's
    order): only the rows the table marks `grouped` are read, so the cost is
    array operations plus the hosts that hold group members."""
    group, sign = soft_group(spec)
    if not group or not len(rows):
        return rows, len(rows)
    score = np.zeros(len(rows), dtype=np.int64)
    for i in np.flatnonzero(table.grouped[rows]):
        score[i] = sign * table[int(rows[i])].groups.get(group, 0)
    order = np.argsort(-score, kind="stable")
    return rows[order], int(np.count_nonzero(score == score[order[0]]))
