"""A security group named in a compute request (an action's or a create's
`name`), found as Nova finds it through neutronclient: among the caller's
project's groups, the one with that id, or else the one with that name."""

from __future__ import annotations

from collections.abc import Sequence

from api.errors import BadRequest, Conflict, ItemNotFound
from network.errors import NetworkError
from network.resources import Caller, ListQuery, SecurityGroup
from network.service import NetworkService


def find(net: NetworkService, caller: Caller, wanted: str,
         missing: type[BadRequest] | type[ItemNotFound]) -> SecurityGroup:
    """The caller's project's group with id `wanted`, or else named so;
    `missing` when none is, 409 when several have the name."""
    groups = net.security_groups.list(caller, ListQuery({"project": (caller.project,)}))
    by_id = [g for g in groups if g.id == wanted]
    named = by_id or [g for g in groups if g.name == wanted]
    if len(named) > 1:
        raise Conflict(f"Multiple security_group matches found for name '{wanted}', use an"
                       " ID to be more specific.")
    if not named:
        raise missing(f"Security group {wanted} is not found for project {caller.project}")
    return named[0]


def ids_for_create(net: NetworkService, caller: Caller, asked: Sequence[str]
                   ) -> tuple[str, ...]:
    """The ids of the groups a create names; 400 for one not found."""
    try:
        return tuple(find(net, caller, name, BadRequest).id for name in asked)
    except NetworkError as exc:
        raise BadRequest(exc.message) from None
