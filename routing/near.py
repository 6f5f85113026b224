"""Boots that must land beside instances the tree already has, at a router.

A `same_host` hint (instance uuids), or an `affinity` server group that has
members already, can only be met below the child that holds those
instances: the router's index says which child that is (a group's members
by the `server_group` each boot through this router recorded), and the
cells below choose the host with their own filters. Anti-affinity and
`different_host` need nothing here: instances in two different children are
on two different hosts, and inside one child its leaf keeps them apart.

`narrowed` keeps the children that can meet the hints and says why; none
left is RESOURCE_EXHAUSTED naming the hint. A soft policy narrows nothing:
`soft_members` gives each child holding members of the group a count of one
member, which the selector weighs (bestmatch.soft_groups).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bestmatch.api import SAME_HOST
from bestmatch.filters.affinity import GROUP, GROUP_MEMBERS, GROUP_POLICY
from bestmatch.soft_groups import SOFT_AFFINITY, SOFT_ANTI_AFFINITY
from model.errors import ResourceExhausted
from routing.children import Child
from routing.index import LocationIndex


def narrowed(children: Sequence[Child], hints: Mapping[str, str],
             index: LocationIndex) -> list[Child]:
    """The children of `children` that can hold a boot with `hints`."""
    kept = list(children)
    uuids = [u.strip() for u in hints.get(SAME_HOST, "").split(",") if u.strip()]
    if uuids:
        holders = {loc.child for u in uuids if (loc := index.lookup(u)) is not None}
        kept = [c for c in kept if c.name in holders]
        if not kept:
            raise ResourceExhausted(f"no cell that is up holds the instances named in"
                                    f" {SAME_HOST} ({', '.join(uuids)[:200]})")
    group = hints.get(GROUP, "")
    if group and hints.get(GROUP_POLICY) == "affinity" and _has_members(hints):
        holders = index.children_of_group(group)
        if holders:  # members booted through this router: stay with them
            kept = [c for c in kept if c.name in holders]
            if not kept:
                raise ResourceExhausted(f"the cells holding the members of affinity group"
                                        f" {group} are not up")
    return kept


def soft_members(hints: Mapping[str, str], index: LocationIndex) -> dict[str, dict[str, int]]:
    """For a boot in a soft-affinity or soft-anti-affinity group that has
    members: the group's member count (1) by child holding any; else nothing."""
    group = hints.get(GROUP, "")
    soft = hints.get(GROUP_POLICY) in (SOFT_AFFINITY, SOFT_ANTI_AFFINITY)
    if not group or not soft or not _has_members(hints):
        return {}
    return {child: {group: 1} for child in index.children_of_group(group)}


def _has_members(hints: Mapping[str, str]) -> bool:
    return hints.get(GROUP_MEMBERS, "").strip() not in ("", "0")
